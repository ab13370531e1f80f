//! `verigym reward-server`: verigym's verifiers over HTTP for trainers in other processes
//! or machines. `POST /score` takes task records with completions and returns the records
//! `verigym score` writes; `POST /get_reward` takes OpenRLHF's remote reward-model request
//! (`query`, `prompts`, `labels`) and returns `rewards`, `scores` and `extra_logs`.
//!
//! axum on hyper parses HTTP; this module only bounds what a request may cost (body bytes,
//! items per request, seconds to send the body) and answers every refusal with a JSON
//! `{"error"}` naming the problem. Scoring runs on rayon's pool, off the I/O threads.

use anyhow::{Context, Result};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Args;
use rayon::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use verigym_envs::{Registry, ScoredTask, Scorer, Task};

#[derive(Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on; loopback unless you mean to expose it.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 5000)]
    port: u16,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = 16 << 20)]
    max_body_bytes: usize,
    /// Most items (or queries) in one request.
    #[arg(long, default_value_t = 8192)]
    max_batch: usize,
    /// Seconds a client may take to send its request body.
    #[arg(long, default_value_t = 30)]
    body_timeout_s: u64,
    /// An envs file (TOML) whose environments are scored beside the builtins.
    #[arg(long)]
    envs_file: Option<std::path::PathBuf>,
}

struct AppState {
    scorer: Scorer,
    envs: usize,
    max_body_bytes: usize,
    max_batch: usize,
    body_timeout: Duration,
}

/// A refused request: status and message, sent as `{"error": message}`.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.into())
}

pub fn run(args: ServeArgs, registry: &Registry) -> Result<ExitCode> {
    let registry = crate::cli::with_envs_files(registry, args.envs_file.as_deref())?;
    let state = Arc::new(AppState {
        envs: registry.entries().len(),
        scorer: Scorer::any(registry),
        max_body_bytes: args.max_body_bytes,
        max_batch: args.max_batch,
        body_timeout: Duration::from_secs(args.body_timeout_s),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args, state))?;
    Ok(ExitCode::SUCCESS)
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(health).fallback(method_not_allowed))
        .route("/score", post(score).fallback(method_not_allowed))
        .route("/get_reward", post(get_reward).fallback(method_not_allowed))
        .fallback(not_found)
        .with_state(state)
}

async fn serve(args: ServeArgs, state: Arc<AppState>) -> Result<()> {
    use axum::serve::ListenerExt;
    let addr = format!("{}:{}", args.host, args.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    // Replies are small; send them without waiting on Nagle.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    // The line a launcher waits for (tests and scripts read the port from it).
    eprintln!("verigym reward-server listening on http://{local}");
    axum::serve(listener, router(state))
        .await
        .context("serving")?;
    Ok(())
}

async fn health(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({ "status": "ok", "envs": state.envs }))
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError(
        StatusCode::NOT_FOUND,
        format!(
            "no route {}; routes: GET /health, POST /score, POST /get_reward",
            uri.path()
        ),
    )
}

async fn method_not_allowed(uri: Uri) -> ApiError {
    let allowed = if uri.path() == "/health" {
        "GET"
    } else {
        "POST"
    };
    ApiError(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} takes {allowed}", uri.path()),
    )
}

/// Reads the whole body within the byte and time limits.
async fn read_body(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body exceeds {} bytes", state.max_body_bytes),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.max_body_bytes as u64) {
        return Err(too_large());
    }
    match tokio::time::timeout(
        state.body_timeout,
        axum::body::to_bytes(body, state.max_body_bytes),
    )
    .await
    {
        Err(_) => Err(ApiError(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "request body not received within {} s",
                state.body_timeout.as_secs()
            ),
        )),
        Ok(Err(e)) => {
            let e = e.into_inner();
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(too_large())
            } else {
                Err(bad_request(format!("reading the request body: {e}")))
            }
        }
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

/// Parses the body as JSON of type `T`; the error names the line, column and field.
fn parse<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| bad_request(format!("invalid JSON body: {e}")))
}

fn check_batch(state: &AppState, field: &str, n: usize) -> Result<(), ApiError> {
    if n > state.max_batch {
        return Err(ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "\"{field}\" has {n} items; at most {} per request",
                state.max_batch
            ),
        ));
    }
    Ok(())
}

/// Runs `f` on rayon's pool and awaits its result without blocking an I/O thread. A panic
/// (which the verifiers are built never to raise) becomes a 500 for this request only:
/// uncaught, rayon would abort the whole server.
async fn on_pool<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    rayon::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.await {
        Ok(Ok(value)) => Ok(value),
        _ => Err(ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "a verifier failed on this request".into(),
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoreRequest {
    items: Vec<Value>,
}

async fn score(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let bytes = read_body(&state, &headers, body).await?;
    let request: ScoreRequest = parse(&bytes)?;
    check_batch(&state, "items", request.items.len())?;
    let results = on_pool(move || {
        request
            .items
            .par_iter()
            .enumerate()
            .map(|(i, item)| {
                let line = i + 1;
                let record = ScoredTask::deserialize(item)
                    .map_err(|e| format!("invalid task: {e}"))
                    .and_then(|t| state.scorer.record_scored(line, &t));
                record.unwrap_or_else(|message| json!({ "line": line, "error": message }))
            })
            .collect::<Vec<Value>>()
    })
    .await?;
    Ok(Json(json!({ "results": results })))
}

#[derive(Deserialize)]
struct RewardRequest {
    query: Vec<String>,
    prompts: Vec<String>,
    labels: Vec<Value>,
}

/// A label is a task record, as a JSON object or as JSON text.
fn label_task(label: &Value) -> Result<Task, String> {
    match label {
        Value::String(text) => serde_json::from_str(text),
        other => Task::deserialize(other),
    }
    .map_err(|e| format!("label is not a task record: {e}"))
}

async fn get_reward(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let bytes = read_body(&state, &headers, body).await?;
    let request: RewardRequest = parse(&bytes)?;
    let n = request.query.len();
    check_batch(&state, "query", n)?;
    for (field, len) in [
        ("prompts", request.prompts.len()),
        ("labels", request.labels.len()),
    ] {
        if len != n {
            return Err(bad_request(format!(
                "\"query\" has {n} items but \"{field}\" has {len}"
            )));
        }
    }
    let verdicts = on_pool(move || {
        (0..n)
            .into_par_iter()
            .map(|i| {
                let response = request.query[i]
                    .strip_prefix(request.prompts[i].as_str())
                    .ok_or_else(|| "query does not start with its prompt".to_string())?;
                let task = label_task(&request.labels[i])?;
                state
                    .scorer
                    .verdict(&task, response)
                    .map_err(|e| e.to_string())
            })
            .collect::<Vec<Result<_, String>>>()
    })
    .await?;
    let mut rewards = Vec::with_capacity(n);
    let mut correct = Vec::with_capacity(n);
    for (i, v) in verdicts.into_iter().enumerate() {
        let v =
            v.map_err(|m| ApiError(StatusCode::UNPROCESSABLE_ENTITY, format!("item {i}: {m}")))?;
        rewards.push(v.reward);
        correct.push(if v.correct { 1.0 } else { 0.0 });
    }
    Ok(Json(json!({
        "rewards": rewards,
        "scores": rewards,
        "extra_logs": { "correct": correct },
    })))
}
