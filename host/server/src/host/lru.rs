//! Least-recently-used order of hot guests.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

/// Keys in use order; `touch` makes a key the most recent, `pop_oldest` evicts.
pub struct Lru<K> {
    stamp: u64,
    by_key: HashMap<K, u64>,
    by_stamp: BTreeMap<u64, K>,
}

impl<K: Clone + Eq + Hash> Lru<K> {
    pub fn new() -> Lru<K> {
        Lru {
            stamp: 0,
            by_key: HashMap::new(),
            by_stamp: BTreeMap::new(),
        }
    }

    pub fn touch(&mut self, key: &K) {
        self.remove(key);
        self.stamp += 1;
        self.by_key.insert(key.clone(), self.stamp);
        self.by_stamp.insert(self.stamp, key.clone());
    }

    pub fn remove(&mut self, key: &K) {
        if let Some(s) = self.by_key.remove(key) {
            self.by_stamp.remove(&s);
        }
    }

    /// Every key, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &K> {
        self.by_key.keys()
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn pop_oldest(&mut self) -> Option<K> {
        let (_, key) = self.by_stamp.pop_first()?;
        self.by_key.remove(&key);
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_touched() {
        let mut l = Lru::new();
        for k in [1, 2, 3] {
            l.touch(&k);
        }
        l.touch(&1);
        assert_eq!(l.pop_oldest(), Some(2));
        l.remove(&3);
        assert_eq!(l.pop_oldest(), Some(1));
        assert_eq!(l.pop_oldest(), None);
        assert_eq!(l.len(), 0);
    }
}
