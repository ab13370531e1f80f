//! Sandboxed execution of model-written Python programs (filled in by the code-sandbox issue).
