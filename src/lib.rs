//! dsrhub placeholder (hub crate follows).
