//! Waiting out a storage fault (a full disk): the store's writer heals the
//! file by itself (see `weft_store`'s writer); work that could not be
//! committed waits here until writing works again, then retries.

use std::time::Duration;
use weft_store::Storage;

/// How often a waiter looks again.
const POLL: Duration = Duration::from_millis(200);

/// Returns once the store's last write (or probe) succeeded.
pub(super) async fn until_writable(store: &dyn Storage) {
    while store.storage_fault().is_some() {
        tokio::time::sleep(POLL).await;
    }
}
