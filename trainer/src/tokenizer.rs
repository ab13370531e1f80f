//! Tokenizers: Hugging Face tokenizer.json and the built-in character tokenizer (issue 7).
