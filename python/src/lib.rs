//! `verigym._verigym`: the Python extension module over verigym-envs and verigym-verifiers
//! (no libtorch). Records cross the boundary as the same serde data the CLI prints, so
//! `Env.sample_batch` and `Env.score_batch` return what `verigym sample` / `verigym score`
//! write. Batch calls release the GIL and spread over rayon's pool.

use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use pythonize::{depythonize, pythonize};
use rayon::prelude::*;
use serde::Serialize;
use verigym_envs::{EnvError, EnvOptions, Environment, Registry, Scorer, Task};
use verigym_verifiers::math::{self, MathOptions};

/// The exception an env error maps to: `KeyError` for an unknown env, else `ValueError`.
fn env_err(e: EnvError) -> PyErr {
    match e {
        EnvError::UnknownEnv { .. } => PyKeyError::new_err(e.to_string()),
        other => PyValueError::new_err(other.to_string()),
    }
}

fn to_py<'py, T: Serialize + ?Sized>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    pythonize(py, value).map_err(|e| PyValueError::new_err(e.to_string()))
}

fn to_py_list<'py, T: Serialize>(py: Python<'py>, values: &[T]) -> PyResult<Bound<'py, PyList>> {
    let items = values
        .iter()
        .map(|v| to_py(py, v))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

/// A Python object (dict, list, str, number, None) as JSON; `what` names it in errors.
fn from_py<T: for<'de> serde::Deserialize<'de>>(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<T> {
    depythonize(obj).map_err(|e| PyValueError::new_err(format!("{what}: {e}")))
}

/// Every environment: `{"name", "domain", "description", "difficulty"}` as `verigym list --json`.
#[pyfunction]
fn list_envs(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    // Through JSON values, so the difficulty range is a list as in JSON, not a tuple.
    let listings = Registry::builtin()
        .entries()
        .iter()
        .map(|e| serde_json::to_value(e.listing()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    to_py_list(py, &listings)
}

/// A task handed to `score_batch`: already a record, or JSON text still to parse.
enum TaskIn {
    Record(Task),
    Json(String),
}

/// One environment at a difficulty level with optional config overrides.
#[pyclass(module = "verigym", frozen)]
struct Env {
    env: Box<dyn Environment>,
    scorer: Scorer,
}

#[pymethods]
impl Env {
    #[new]
    #[pyo3(signature = (name, difficulty=None, config=None))]
    fn new(
        name: &str,
        difficulty: Option<i64>,
        config: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let difficulty = difficulty
            .map(|d| {
                u8::try_from(d)
                    .map_err(|_| PyValueError::new_err(format!("difficulty {d} is outside 1..=10")))
            })
            .transpose()?;
        let config: Option<serde_json::Value> = match config {
            Some(c) if !c.is_none() => {
                if !c.is_instance_of::<PyDict>() {
                    return Err(PyValueError::new_err("config must be a dict"));
                }
                Some(from_py(c, "config")?)
            }
            _ => None,
        };
        let registry = Registry::builtin();
        let opts = EnvOptions {
            difficulty,
            config: config.clone(),
        };
        let env = registry.build(name, &opts).map_err(env_err)?;
        let scorer = Scorer::for_env(registry, name, config).map_err(env_err)?;
        Ok(Env { env, scorer })
    }

    #[getter]
    fn name(&self) -> &str {
        self.env.name()
    }

    #[getter]
    fn difficulty(&self) -> u8 {
        self.env.difficulty()
    }

    #[getter]
    fn domain(&self) -> &'static str {
        self.env.domain().as_str()
    }

    /// The resolved config (the difficulty's config with the overrides merged in).
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.env.config())
    }

    /// Task `index` of `seed`: the record `verigym sample` prints.
    fn sample<'py>(&self, py: Python<'py>, seed: u64, index: u64) -> PyResult<Bound<'py, PyAny>> {
        let task = self.env.generate(seed, index).map_err(env_err)?;
        to_py(py, &task)
    }

    /// Tasks `start .. start + n` of `seed`, generated on all cores without the GIL.
    #[pyo3(signature = (n, seed, start=0))]
    fn sample_batch<'py>(
        &self,
        py: Python<'py>,
        n: u64,
        seed: u64,
        start: u64,
    ) -> PyResult<Bound<'py, PyList>> {
        let end = start
            .checked_add(n)
            .ok_or_else(|| PyValueError::new_err("start + n overflows"))?;
        let tasks: Vec<Task> = py
            .detach(|| {
                (start..end)
                    .into_par_iter()
                    .map(|i| self.env.generate(seed, i))
                    .collect::<Result<_, _>>()
            })
            .map_err(env_err)?;
        to_py_list(py, &tasks)
    }

    /// Grades one completion of `task` (a record from `sample`): the `verigym score` record.
    fn score<'py>(
        &self,
        py: Python<'py>,
        task: &Bound<'py, PyAny>,
        completion: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let task: Task = from_py(task, "task")?;
        let record = self.scorer.record(1, &task, completion).map_err(env_err)?;
        to_py(py, &record)
    }

    /// Grades `completions[i]` of `tasks[i]` on all cores without the GIL; record `i` has
    /// `"line": i + 1`, as `verigym score` numbers the lines of a file. A task is a record
    /// (dict) or its JSON text, which is parsed off the GIL too.
    fn score_batch<'py>(
        &self,
        py: Python<'py>,
        tasks: Vec<Bound<'py, PyAny>>,
        completions: Vec<String>,
    ) -> PyResult<Bound<'py, PyList>> {
        if tasks.len() != completions.len() {
            return Err(PyValueError::new_err(format!(
                "{} tasks but {} completions",
                tasks.len(),
                completions.len()
            )));
        }
        let tasks: Vec<TaskIn> = tasks
            .iter()
            .enumerate()
            .map(|(i, t)| match t.cast::<PyString>() {
                Ok(text) => Ok(TaskIn::Json(text.extract::<String>()?)),
                Err(_) => from_py(t, &format!("tasks[{i}]")).map(TaskIn::Record),
            })
            .collect::<PyResult<_>>()?;
        let records = py.detach(|| {
            tasks
                .par_iter()
                .zip(completions.par_iter())
                .enumerate()
                .map(|(i, (t, c))| {
                    let parsed;
                    let task = match t {
                        TaskIn::Record(task) => task,
                        TaskIn::Json(text) => {
                            parsed = serde_json::from_str::<Task>(text)
                                .map_err(|e| format!("not a task record: {e}"));
                            parsed
                                .as_ref()
                                .map_err(|e| PyValueError::new_err(format!("tasks[{i}]: {e}")))?
                        }
                    };
                    self.scorer
                        .record(i + 1, task, c)
                        .map_err(|e| PyValueError::new_err(format!("tasks[{i}]: {e}")))
                })
                .collect::<PyResult<Vec<_>>>()
        })?;
        to_py_list(py, &records)
    }

    fn __repr__(&self) -> String {
        format!(
            "Env({:?}, difficulty={})",
            self.env.name(),
            self.env.difficulty()
        )
    }
}

fn math_options(options: Option<&Bound<'_, PyAny>>) -> PyResult<MathOptions> {
    match options {
        Some(o) if !o.is_none() => from_py(o, "options"),
        _ => Ok(MathOptions::default()),
    }
}

/// Grades `completion` against the math answer `gold`: `{"equal", "extracted", "reason"}`
/// plus `"method"` when equal, as `verigym verify math` writes.
#[pyfunction]
#[pyo3(signature = (gold, completion, options=None))]
fn verify_math<'py>(
    py: Python<'py>,
    gold: &str,
    completion: &str,
    options: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let opts = math_options(options)?;
    let verdict = py.detach(|| math::verify(gold, completion, &opts));
    to_py(py, &verdict)
}

/// `verify_math` over pairs, on all cores without the GIL.
#[pyfunction]
#[pyo3(signature = (golds, completions, options=None))]
fn verify_math_batch<'py>(
    py: Python<'py>,
    golds: Vec<String>,
    completions: Vec<String>,
    options: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    if golds.len() != completions.len() {
        return Err(PyValueError::new_err(format!(
            "{} golds but {} completions",
            golds.len(),
            completions.len()
        )));
    }
    let opts = math_options(options)?;
    let verdicts: Vec<_> = py.detach(|| {
        golds
            .par_iter()
            .zip(completions.par_iter())
            .map(|(g, c)| math::verify(g, c, &opts))
            .collect()
    });
    to_py_list(py, &verdicts)
}

#[pymodule]
fn _verigym(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(list_envs, m)?)?;
    m.add_function(wrap_pyfunction!(verify_math, m)?)?;
    m.add_function(wrap_pyfunction!(verify_math_batch, m)?)?;
    m.add_class::<Env>()?;
    Ok(())
}
