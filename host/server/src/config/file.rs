//! weft.toml: the same settings as `serve`'s flags, in a file
//! (`--config PATH` or `WEFT_CONFIG`).

use super::settings::Settings;
use std::path::Path;

/// Reads and checks the file. An unknown key or a bad value is an error that
/// names the key (with its line) and what is allowed.
pub fn load(path: &Path) -> anyhow::Result<Settings> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!("cannot read the configuration file {}: {e}", path.display())
    })?;
    parse(&text).map_err(|e| anyhow::anyhow!("configuration file {}: {e}", path.display()))
}

/// Parses weft.toml's text.
pub fn parse(text: &str) -> Result<Settings, String> {
    toml::from_str(text).map_err(|e| describe(text, &e))
}

/// `line 2, orchestrator-memory: 'lots' is not a size ...`: where the error is
/// and under which key (with its table), then what is wrong.
fn describe(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end();
    let Some(span) = e.span() else {
        return message.to_owned();
    };
    let before = &text[..span.start.min(text.len())];
    let line_no = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let table = before[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && !l.contains('='))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    match (table, key) {
        (Some(t), Some(k)) => format!("line {line_no}, {t}.{k}: {message}"),
        (None, Some(k)) => format!("line {line_no}, {k}: {message}"),
        _ => format!("line {line_no}: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_parses() {
        let s = parse(
            r#"
            store = "x.redb"
            listen = "127.0.0.1:9000"
            components = "components"
            watch = true
            max-hot = 10
            max-activities = 5
            task-hub-name = "hub"
            api-key = "k"
            api-key-env = "KEY_VAR"
            activity-dir = ["/tmp"]
            activity-env = ["A=1"]
            allow-http = ["127.0.0.1:8080", "*.example.com"]
            orchestrator-turn-limit = "2s"
            activity-timeout = "1m"
            orchestrator-memory = "32MiB"
            activity-memory = "1GiB"
            max-tasks-per-turn = 100
            max-history-events = 1000
            max-component-size = "8MiB"
            max-http-response = "4MiB"
            log-format = "json"

            [orchestrator.Big]
            turn-limit = "5s"
            memory = "128MiB"
            max-tasks-per-turn = 50000

            [activity.Fetch]
            timeout = "30s"
            memory = "16MiB"
            dir = ["/tmp:/data"]
            env = ["TOKEN=t"]
            allow-http = ["https://api.example.com"]
            "#,
        )
        .unwrap();
        let c = s.resolve().unwrap();
        assert_eq!(c.host.max_hot, 10);
        assert_eq!(c.host.max_http_response, 4 << 20);
        assert_eq!(c.host.policy.limits.activity_memory, 1 << 30);
        assert_eq!(c.host.policy.activities.allow_http.len(), 2);
        let fetch = c.host.policy.activity("Fetch");
        assert_eq!(fetch.timeout.value.as_secs(), 30);
        assert_eq!(fetch.capabilities.allow_http.len(), 3);
        assert_eq!(c.host.policy.orchestrator("Big").max_tasks.value, 50000);
        assert_eq!(c.api_key.as_deref(), Some("k"));
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        for (text, names) in [
            ("stor = \"x\"", &["stor", "store"][..]),
            (
                "orchestrator-memory = \"lots\"",
                &["orchestrator-memory", "not a size"],
            ),
            ("activity-memory = \"8GiB\"", &["activity-memory", "4GiB"]),
            ("max-hot = \"many\"", &["max-hot"]),
            ("allow-http = [\"x.test/path\"]", &["allow-http", "paths"]),
            (
                "[activity.F]\ntimout = \"1s\"",
                &["activity.F.timout", "timeout"],
            ),
            (
                "[orchestrator.O]\nturn-limit = \"0s\"",
                &["orchestrator.O.turn-limit", "zero"],
            ),
            ("store = 'a'\n\nlisten = 'nowhere'", &["line 3, listen"]),
            ("log-format = \"xml\"", &["log-format", "text"]),
            (
                "max-activities = 0",
                &["line 1, max-activities", "positive whole number"],
            ),
            (
                "max-history-events = -3",
                &["max-history-events", "positive whole number"],
            ),
            (
                "max-http-response = \"32MiB\"",
                &["max-http-response", "16MiB"],
            ),
        ] {
            let err = parse(text).unwrap_err();
            for n in names {
                assert!(err.contains(n), "{text}: {err}");
            }
        }
    }

    #[test]
    fn flags_win_over_the_file() {
        let file = parse("max-hot = 10\nmax-activities = 7\nallow-http = [\"a.test\"]").unwrap();
        let flags = Settings {
            max_hot: Some(3),
            ..Settings::default()
        };
        let c = flags.over(file).resolve().unwrap();
        assert_eq!(c.host.max_hot, 3);
        assert_eq!(c.host.max_activities, 7);
        assert_eq!(c.host.policy.activities.allow_http.len(), 1);
    }

    #[test]
    fn checks_across_values() {
        let err = parse("watch = true").unwrap().resolve().unwrap_err();
        assert!(err.to_string().contains("components"), "{err}");
        let err = parse("listen = \"0.0.0.0:80\"")
            .unwrap()
            .resolve()
            .unwrap_err();
        assert!(err.to_string().contains("API key"), "{err}");
        assert_eq!(
            parse("max-hot = 0")
                .unwrap()
                .resolve()
                .unwrap()
                .host
                .max_hot,
            0
        );
        assert_eq!(
            parse("store = \"redb:///var/lib/weft.redb\"")
                .unwrap()
                .resolve()
                .unwrap()
                .host
                .store,
            crate::host::StoreLocation::Redb("/var/lib/weft.redb".into())
        );
        for store in ["postgres://weft@db/weft", "postgresql://db/weft"] {
            assert_eq!(
                parse(&format!("store = \"{store}\""))
                    .unwrap()
                    .resolve()
                    .unwrap()
                    .host
                    .store,
                crate::host::StoreLocation::Postgres(store.into())
            );
        }
        for store in ["redb://", ""] {
            let err = parse(&format!("store = \"{store}\""))
                .unwrap()
                .resolve()
                .unwrap_err();
            assert!(err.to_string().contains("--store"), "{store}: {err}");
        }
        assert_eq!(
            parse("max-http-response = \"2MiB\"")
                .unwrap()
                .resolve()
                .unwrap()
                .host
                .max_http_response,
            2 << 20
        );
        let err = parse("api-key-env = \"WEFT_TEST_SURELY_UNSET\"")
            .unwrap()
            .resolve()
            .unwrap_err();
        assert!(err.to_string().contains("WEFT_TEST_SURELY_UNSET"), "{err}");
    }
}
