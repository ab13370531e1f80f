//! `verigym serve`: an OpenAI-compatible HTTP server for a local checkpoint (the API of
//! platform.openai.com/docs/api-reference, as vLLM and SGLang serve it): `GET /v1/models`,
//! `POST /v1/completions`, `POST /v1/chat/completions` (whole replies or server-sent
//! events) and `GET /health`.
//!
//! axum on hyper parses HTTP on a tokio runtime; the handlers check each request
//! (api.rs), hand its sequences to the model thread (scheduler.rs), which runs every
//! request in one continuous batch (rollout/continuous.rs), and build the reply from the
//! tokens that come back (reply.rs). Every refusal is OpenAI's JSON error object with a
//! 4xx status.

mod api;
mod reply;
mod scheduler;

use crate::policy::checkpoint;
use crate::policy::model::{Config, ModelError};
use crate::policy::tokenizer::Tokenizer;
use crate::rollout::sampler::KvCacheDtype;
use api::{ApiError, Endpoint, Limits, Prepared};
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use reply::Reply;
use scheduler::{Job, Scheduler, SchedulerConfig, Update};
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("{0}")]
    Config(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

/// Everything `run` needs; the command line fills it (commands/serve.rs).
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Checkpoint folder (config.json, safetensors, tokenizer.json).
    pub model_dir: PathBuf,
    /// The model id clients name (default: the folder's name).
    pub served_model_name: Option<String>,
    pub host: String,
    /// 0: the OS picks a free port (printed on the listening line).
    pub port: u16,
    /// When set, every /v1 request needs `Authorization: Bearer <key>`.
    pub api_key: Option<String>,
    pub device: tch::Device,
    pub kind: tch::Kind,
    pub kv_cache_dtype: KvCacheDtype,
    /// Sequences decoded together at most (requests beyond wait their turn).
    pub max_batch: usize,
    /// Most choices per request (`n`).
    pub max_n: usize,
    /// Most prompts in one completions request.
    pub max_prompts: usize,
    /// Largest `max_tokens` accepted (and the default's cap).
    pub max_tokens: usize,
    /// Prompt plus completion tokens (default and cap: the model's positions).
    pub max_model_len: Option<usize>,
    pub max_body_bytes: usize,
    /// Sequences that may wait for a place in the batch before requests get 429.
    pub max_waiting: usize,
    /// Time a client may take to send its request body.
    pub body_timeout: Duration,
    /// Time in-flight requests get to finish after SIGTERM or ctrl-c.
    pub shutdown_grace: Duration,
}

/// The handlers' shared state.
struct App {
    name: Arc<str>,
    tok: Arc<Tokenizer>,
    scheduler: Scheduler,
    limits: Limits,
    api_key: Option<String>,
    max_body_bytes: usize,
    max_waiting: usize,
    body_timeout: Duration,
    created: u64,
}

/// Loads the checkpoint, binds, prints `verigym serve: listening on http://HOST:PORT` on
/// stdout, and serves until SIGTERM or ctrl-c (then lets in-flight requests finish, for
/// at most `shutdown_grace`).
pub fn run(opts: ServeOptions) -> Result<(), ServeError> {
    let cfg = Config::from_file(&opts.model_dir.join("config.json"))?;
    let tok = Arc::new(checkpoint::load_tokenizer(&opts.model_dir, &cfg)?);
    let name: Arc<str> = match &opts.served_model_name {
        Some(n) => n.as_str().into(),
        None => opts
            .model_dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "model".into())
            .into(),
    };
    if opts.max_batch == 0 || opts.max_n == 0 || opts.max_prompts == 0 || opts.max_tokens == 0 {
        return Err(ServeError::Config(
            "--max-batch, --max-n, --max-prompts and --max-tokens-limit must be at least 1".into(),
        ));
    }
    let (scheduler, model_thread) = scheduler::spawn(
        SchedulerConfig {
            model_dir: opts.model_dir.clone(),
            device: opts.device,
            kind: opts.kind,
            max_rows: opts.max_batch,
            // Room for the live rows' windows plus one more request before the cache has
            // to move its window back.
            max_slots: 2 * opts
                .max_model_len
                .unwrap_or(usize::MAX)
                .min(cfg.max_position_embeddings),
            kv_cache_dtype: opts.kv_cache_dtype,
        },
        tok.clone(),
    )?;
    let positions = scheduler.info.max_positions;
    let max_model_len = opts.max_model_len.unwrap_or(positions).min(positions);
    eprintln!(
        "verigym serve: model {name} ({} positions, {} path), batch up to {}",
        positions,
        if scheduler.info.fused {
            "fused CPU"
        } else {
            "libtorch"
        },
        opts.max_batch
    );
    let app = Arc::new(App {
        name,
        tok,
        limits: Limits {
            max_n: opts.max_n,
            max_prompts: opts.max_prompts,
            max_tokens: opts.max_tokens,
            max_model_len,
            vocab_size: scheduler.info.vocab_size,
        },
        scheduler,
        api_key: opts.api_key.clone().filter(|k| !k.is_empty()),
        max_body_bytes: opts.max_body_bytes,
        max_waiting: opts.max_waiting,
        body_timeout: opts.body_timeout,
        created: unix_seconds(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| ServeError::Io {
            context: "starting the async runtime".into(),
            source,
        })?;
    runtime.block_on(serve(&opts, app))?;
    drop(runtime);
    // The app (and with it the job channel) is gone: the model thread finishes its work
    // and ends.
    let _ = model_thread.join();
    Ok(())
}

async fn serve(opts: &ServeOptions, app: Arc<App>) -> Result<(), ServeError> {
    use axum::serve::ListenerExt;
    let addr = format!("{}:{}", opts.host, opts.port);
    let io = |context: String| move |source| ServeError::Io { context, source };
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(io(format!("binding {addr}")))?;
    let local = listener
        .local_addr()
        .map_err(io("reading the bound address".into()))?;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    // The one line on stdout: launchers (tests, `verigym eval`) read the port from it.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "verigym serve: listening on http://{local}")
        .and_then(|()| stdout.flush())
        .map_err(io("writing the listening line".into()))?;
    drop(stdout);
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, router(app)).with_graceful_shutdown(async move {
        shutdown_signal().await;
        eprintln!("verigym serve: shutting down; finishing in-flight requests");
        let _ = stopping_tx.send(());
    });
    let grace = opts.shutdown_grace;
    let deadline = async move {
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        served = server => served.map_err(io("serving".into()))?,
        () = deadline => eprintln!(
            "verigym serve: requests still open after {} s; stopping anyway",
            grace.as_secs()
        ),
    }
    Ok(())
}

/// Resolves on ctrl-c or (on Unix) SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/health", get(health).fallback(method_not_allowed))
        .route("/v1/models", get(models).fallback(method_not_allowed))
        .route("/v1/models/{id}", get(model).fallback(method_not_allowed))
        .route(
            "/v1/completions",
            post(completions).fallback(method_not_allowed),
        )
        .route(
            "/v1/chat/completions",
            post(chat_completions).fallback(method_not_allowed),
        )
        .fallback(not_found)
        .with_state(app)
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

fn model_card(app: &App) -> Value {
    json!({
        "id": &*app.name, "object": "model", "created": app.created, "owned_by": "verigym",
        "max_model_len": app.limits.max_model_len,
    })
}

async fn models(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    authorize(&app, &headers)?;
    Ok(Json(json!({"object": "list", "data": [model_card(&app)]})))
}

async fn model(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    authorize(&app, &headers)?;
    if id != *app.name {
        return Err(
            ApiError::invalid("model", format!("The model `{id}` does not exist"))
                .with_status(StatusCode::NOT_FOUND)
                .with_code("model_not_found"),
        );
    }
    Ok(Json(model_card(&app)))
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::invalid(
        "",
        format!(
            "no route {}; routes: GET /health, GET /v1/models, POST /v1/completions, \
             POST /v1/chat/completions",
            uri.path()
        ),
    )
    .with_status(StatusCode::NOT_FOUND)
    .with_code("unknown_url")
}

async fn method_not_allowed(uri: Uri) -> ApiError {
    let allowed = match uri.path() {
        "/v1/completions" | "/v1/chat/completions" => "POST",
        _ => "GET",
    };
    ApiError::invalid("", format!("{} takes {allowed}", uri.path()))
        .with_status(StatusCode::METHOD_NOT_ALLOWED)
        .with_code("method_not_allowed")
}

/// With an API key set, the request must carry `Authorization: Bearer <key>`.
fn authorize(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(key) = &app.api_key else {
        return Ok(());
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    // Compares every byte whatever the first difference (no early exit to time).
    let same = given.is_some_and(|g| {
        g.len() == key.len()
            && g.bytes()
                .zip(key.bytes())
                .fold(0u8, |d, (a, b)| d | (a ^ b))
                == 0
    });
    if same {
        return Ok(());
    }
    let message = match given {
        None => "missing API key: send `Authorization: Bearer <key>`",
        Some(_) => "incorrect API key provided",
    };
    Err(ApiError::invalid("", message)
        .with_status(StatusCode::UNAUTHORIZED)
        .with_code("invalid_api_key"))
}

/// Reads the whole body within the byte and time limits.
async fn read_body(app: &App, headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::invalid(
            "",
            format!("request body exceeds {} bytes", app.max_body_bytes),
        )
        .with_status(StatusCode::PAYLOAD_TOO_LARGE)
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > app.max_body_bytes as u64) {
        return Err(too_large());
    }
    match tokio::time::timeout(
        app.body_timeout,
        axum::body::to_bytes(body, app.max_body_bytes),
    )
    .await
    {
        Err(_) => Err(ApiError::invalid(
            "",
            format!(
                "request body not received within {} s",
                app.body_timeout.as_secs()
            ),
        )
        .with_status(StatusCode::REQUEST_TIMEOUT)),
        Ok(Err(e)) => {
            let e = e.into_inner();
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(too_large())
            } else {
                Err(ApiError::invalid(
                    "",
                    format!("reading the request body: {e}"),
                ))
            }
        }
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

async fn completions(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    generate(app, Endpoint::Completions, headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn chat_completions(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    generate(app, Endpoint::Chat, headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// Both generation endpoints: check, submit, reply whole or as a stream.
async fn generate(
    app: Arc<App>,
    endpoint: Endpoint,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    authorize(&app, &headers)?;
    let bytes = read_body(&app, &headers, body).await?;
    let prepared = api::prepare(endpoint, &bytes, &app.name, &app.tok, &app.limits)?;
    let updates = submit(&app, &prepared)?;
    let reply = Reply::new(&prepared, app.name.clone(), app.tok.clone());
    if prepared.stream {
        Ok(stream(reply, updates, prepared.include_usage).into_response())
    } else {
        whole(reply, updates).await.map(IntoResponse::into_response)
    }
}

/// Queues the request's sequences on the model thread; its tokens come back on the
/// returned channel.
fn submit(
    app: &App,
    prepared: &Prepared,
) -> Result<tokio::sync::mpsc::UnboundedReceiver<Update>, ApiError> {
    let seqs = prepared.seqs(prepared.seed.unwrap_or_else(fresh_u64));
    let waiting = &app.scheduler.waiting;
    let n = seqs.len();
    let admitted = waiting
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| {
            (w + n <= app.max_waiting.max(n)).then_some(w + n)
        })
        .is_ok();
    if !admitted {
        return Err(ApiError::server(
            StatusCode::TOO_MANY_REQUESTS,
            "the server is busy: too many sequences are waiting; retry later",
        )
        .with_code("server_busy"));
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let job = Job { seqs, updates: tx };
    if app.scheduler.jobs.send(job).is_err() {
        waiting.fetch_sub(n, Ordering::Relaxed);
        return Err(ApiError::server(
            StatusCode::SERVICE_UNAVAILABLE,
            "the model thread has stopped",
        ));
    }
    Ok(rx)
}

/// Waits for every choice, then answers with the whole reply.
async fn whole(
    mut reply: Reply,
    mut updates: tokio::sync::mpsc::UnboundedReceiver<Update>,
) -> Result<Json<Value>, ApiError> {
    while !reply.done() {
        match updates.recv().await {
            Some(u) => {
                reply.on_update(u)?;
            }
            None => return Err(stopped()),
        }
    }
    Ok(Json(reply.whole()))
}

fn stopped() -> ApiError {
    ApiError::server(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the model thread stopped before the reply was complete",
    )
}

/// The reply as server-sent events: OpenAI's chunks, an error object if generation fails
/// midway, then `data: [DONE]`. Dropping the stream (the client went away) drops the
/// channel, and the model thread drops the request's sequences.
fn stream(
    reply: Reply,
    updates: tokio::sync::mpsc::UnboundedReceiver<Update>,
    include_usage: bool,
) -> Sse<impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>>> {
    let opening = reply.opening();
    let state = Some((reply, updates));
    let chunks = futures_util::stream::unfold(state, move |state| async move {
        let (mut reply, mut updates) = state?;
        let mut out = match updates.recv().await {
            Some(u) => match reply.on_update(u) {
                Ok(chunks) => chunks,
                Err(e) => return Some((vec![e.body(), done()], None)),
            },
            None => return Some((vec![stopped().body(), done()], None)),
        };
        if !reply.done() {
            return Some((out, Some((reply, updates))));
        }
        if include_usage {
            out.push(reply.usage_chunk());
        }
        out.push(done());
        Some((out, None))
    });
    let events = futures_util::stream::iter(opening)
        .chain(chunks.flat_map(futures_util::stream::iter))
        .map(|v| {
            Ok(match v.as_str() {
                Some(s) => Event::default().data(s),
                None => Event::default().data(v.to_string()),
            })
        });
    Sse::new(events)
}

/// The stream's last data line.
fn done() -> Value {
    Value::String("[DONE]".into())
}

/// Seconds since the Unix epoch.
fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A fresh 64-bit value (request ids, seeds of requests without one): SplitMix64 over a
/// process counter and the clock. Not for anything secret.
fn fresh_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut z = nanos.wrapping_add(
        COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
