//! The access keys hearth accepts.

use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
}

#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: HashMap<String, String>,
}

impl KeyRing {
    pub fn new(keys: impl IntoIterator<Item = AccessKey>) -> KeyRing {
        KeyRing {
            keys: keys.into_iter().map(|k| (k.id, k.secret)).collect(),
        }
    }

    pub fn secret(&self, id: &str) -> Option<&str> {
        self.keys.get(id).map(String::as_str)
    }
}
