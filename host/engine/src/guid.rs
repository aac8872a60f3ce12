//! Deterministic GUIDs (reference §2.12): RFC 4122 name-based UUIDs, version
//! 5, as durabletask-dotnet makes them. The name is
//! `{instanceId}_{orchestration time, .NET "o" format}_{counter}`, where the
//! counter counts the calls of one run of the code from 0 (across episodes,
//! not reset per episode), so the i-th call of an execution always gives the
//! same value, hot or replayed.

use uuid::Uuid;
use weft_core::{InstanceId, Timestamp};

/// durabletask-dotnet's namespace (`DnsNamespaceValue`).
const NAMESPACE: Uuid = Uuid::from_u128(0x9e952958_5e33_4daf_827f_2fa12937b875);

/// The `counter`-th GUID of `instance` at orchestration time `now`.
pub(crate) fn new_guid(instance: &InstanceId, now: Timestamp, counter: u64) -> String {
    Uuid::new_v5(&NAMESPACE, name(instance, now, counter).as_bytes()).to_string()
}

/// `.NET`'s round-trip format has seven fractional digits; the orchestration
/// time has milliseconds, so the last four are zeros.
fn name(instance: &InstanceId, now: Timestamp, counter: u64) -> String {
    let time = now.to_rfc3339(); // YYYY-MM-DDTHH:MM:SS.mmmZ
    let time = format!("{}0000Z", time.trim_end_matches('Z'));
    format!("{instance}_{time}_{counter}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden values computed independently (Python's `uuid.uuid5` with the
    /// same namespace and names); a change to the algorithm fails here.
    #[test]
    fn fixed_inputs_give_pinned_values() {
        let id = InstanceId::new("fixed-instance-id").unwrap();
        let now = Timestamp(1_683_356_889_123); // 2023-05-06T07:08:09.123Z
        assert_eq!(
            name(&id, now, 0),
            "fixed-instance-id_2023-05-06T07:08:09.1230000Z_0"
        );
        let got: Vec<String> = (0..3).map(|n| new_guid(&id, now, n)).collect();
        assert_eq!(
            got,
            [
                "73fdb622-cdda-5ede-a4d4-cab8ee1e07c9",
                "e76fba89-67bb-5d75-99c2-0c53f047e64e",
                "28499998-043d-5432-9adb-9893003f25de",
            ]
        );
    }
}
