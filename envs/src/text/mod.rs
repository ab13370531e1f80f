//! Character-level text environments: counting, spelling, reversing, ciphers.

use crate::EnvEntry;

pub mod anagram_check;
pub mod caesar_cipher;
pub mod char_at_position;
pub mod letter_counting;
pub mod palindrome;
pub mod spell_backward;
pub mod spell_word;
pub mod word_reversal;
pub mod words;

/// This domain's builtin environments, alphabetised by name.
pub fn entries() -> Vec<EnvEntry> {
    vec![
        EnvEntry::family::<anagram_check::AnagramCheck>(),
        EnvEntry::family::<caesar_cipher::CaesarCipher>(),
        EnvEntry::family::<char_at_position::CharAtPosition>(),
        EnvEntry::family::<letter_counting::LetterCounting>(),
        EnvEntry::family::<palindrome::Palindrome>(),
        EnvEntry::family::<spell_backward::SpellBackward>(),
        EnvEntry::family::<spell_word::SpellWord>(),
        EnvEntry::family::<word_reversal::WordReversal>(),
    ]
}
