//! The service config a channel is given (`ChannelBuilder::service_config`): gRPC's JSON format
//! (grpc/grpc `doc/service_config.md`, gRFC A2), checked as gRFC A21 asks (a bad field fails
//! the channel's build, named with its place: `methodConfig[0].retryPolicy.maxAttempts`), with
//! the retry, hedging and throttling policies of gRFC A6.
//!
//! Read once into the types below; a call looks its method up by path (`ServiceConfig::method`)
//! only on a channel that has a config.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind};
use crate::{CallOptions, Code};

/// The most attempts a retry or hedging policy may make, whatever the config says (gRFC A6,
/// "Limits on Retries and Hedges").
pub(crate) const MAX_ATTEMPTS_CAP: u32 = 5;

/// The load-balancing policies a channel knows, in the names `loadBalancingConfig` uses.
const KNOWN_LB_POLICIES: [&str; 2] = ["pick_first", "round_robin"];

/// A parsed service config.
#[derive(Debug, Default)]
pub(crate) struct ServiceConfig {
    /// Per `service/method`, per `service`, and the default: an index into `configs`.
    exact: HashMap<String, usize>,
    services: HashMap<String, usize>,
    default: Option<usize>,
    configs: Vec<Arc<MethodConfig>>,
    pub(crate) throttling: Option<RetryThrottling>,
    lb_policy: Option<String>,
}

/// What the config says about a method's calls.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct MethodConfig {
    pub(crate) timeout: Option<Duration>,
    pub(crate) wait_for_ready: Option<bool>,
    pub(crate) max_request_bytes: Option<usize>,
    pub(crate) max_response_bytes: Option<usize>,
    pub(crate) policy: Option<Policy>,
}

/// A method's retry or hedging policy: a config may give one, not both.
#[derive(Debug, PartialEq)]
pub(crate) enum Policy {
    Retry(RetryPolicy),
    Hedging(HedgingPolicy),
}

/// `retryPolicy`: attempts one after another, with exponential backoff between them.
#[derive(Debug, PartialEq)]
pub(crate) struct RetryPolicy {
    /// Capped at [`MAX_ATTEMPTS_CAP`].
    pub(crate) max_attempts: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) backoff_multiplier: f64,
    pub(crate) retryable: Codes,
}

/// `hedgingPolicy`: attempts started `hedging_delay` apart without waiting for the earlier ones.
#[derive(Debug, PartialEq)]
pub(crate) struct HedgingPolicy {
    /// Capped at [`MAX_ATTEMPTS_CAP`].
    pub(crate) max_attempts: u32,
    pub(crate) hedging_delay: Duration,
    pub(crate) non_fatal: Codes,
}

/// `retryThrottling`: the channel's token bucket.
#[derive(Debug, PartialEq, Clone, Copy)]
pub(crate) struct RetryThrottling {
    pub(crate) max_tokens: u32,
    pub(crate) token_ratio: f64,
}

/// A set of status codes.
#[derive(Debug, Default, PartialEq, Clone, Copy)]
pub(crate) struct Codes(u32);

impl Codes {
    pub(crate) fn contains(self, code: Code) -> bool {
        self.0 & (1 << code.as_i32()) != 0
    }

    fn insert(&mut self, code: Code) {
        self.0 |= 1 << code.as_i32();
    }
}

impl MethodConfig {
    /// `options` (the call's, over the channel's defaults) with this config applied: its
    /// timeout unless the call has an earlier deadline, its wait-for-ready unless the call set it.
    pub(crate) fn apply(&self, mut options: CallOptions) -> CallOptions {
        if let Some(deadline) = self.timeout.and_then(|timeout| Instant::now().checked_add(timeout)) {
            options.deadline = Some(options.deadline.map_or(deadline, |set| set.min(deadline)));
        }
        if options.wait_for_ready.is_none() {
            options.wait_for_ready = self.wait_for_ready;
        }
        options
    }

    /// The send and receive limits of a call: the smaller of the channel's and this config's.
    pub(crate) fn limits(&self, send: usize, receive: usize) -> (usize, usize) {
        (
            self.max_request_bytes.map_or(send, |n| n.min(send)),
            self.max_response_bytes.map_or(receive, |n| n.min(receive)),
        )
    }
}

impl ServiceConfig {
    /// Reads `json`; a config gRPC would reject is an error naming the field and why.
    pub(crate) fn parse(json: &str) -> Result<ServiceConfig, Error> {
        let value: Value =
            serde_json::from_str(json).map_err(|err| invalid(format!("service config is not valid JSON: {err}")))?;
        let Value::Object(top) = value else {
            return Err(invalid("service config must be a JSON object".to_owned()));
        };
        let mut config = ServiceConfig::default();
        if let Some(methods) = field(&top, "methodConfig") {
            let Value::Array(methods) = methods else {
                return Err(invalid("service config: methodConfig must be an array".to_owned()));
            };
            for (i, method) in methods.iter().enumerate() {
                config.add_method(i, method)?;
            }
        }
        if let Some(throttling) = field(&top, "retryThrottling") {
            config.throttling = Some(throttling_of(throttling)?);
        }
        config.lb_policy = lb_policy_of(&top)?;
        Ok(config)
    }

    /// The config of the method at `path` (`/package.Service/Method`): its own entry, else its
    /// service's, else the default, else none.
    pub(crate) fn method(&self, path: &str) -> Option<&Arc<MethodConfig>> {
        let name = path.strip_prefix('/').unwrap_or(path);
        let index = self
            .exact
            .get(name)
            .or_else(|| name.split_once('/').and_then(|(service, _)| self.services.get(service)))
            .or(self.default.as_ref())?;
        self.configs.get(*index)
    }

    /// The load-balancing policy the config asks for: the first of `loadBalancingConfig` this
    /// client knows (`pick_first`, `round_robin`), else `loadBalancingPolicy`.
    pub(crate) fn lb_policy(&self) -> Option<&str> {
        self.lb_policy.as_deref()
    }

    fn add_method(&mut self, i: usize, method: &Value) -> Result<(), Error> {
        let at = format!("methodConfig[{i}]");
        let Value::Object(method) = method else {
            return Err(invalid(format!("service config: {at} must be an object")));
        };
        let index = self.configs.len();
        let names = match field(method, "name") {
            None => Vec::new(),
            Some(Value::Array(names)) => names.clone(),
            Some(_) => return Err(invalid(format!("service config: {at}.name must be an array"))),
        };
        for (j, name) in names.iter().enumerate() {
            let at = format!("{at}.name[{j}]");
            let Value::Object(name) = name else {
                return Err(invalid(format!("service config: {at} must be an object")));
            };
            let service = optional_string(name, "service", &at)?.unwrap_or_default();
            let method = optional_string(name, "method", &at)?.unwrap_or_default();
            let duplicate = if service.is_empty() {
                if !method.is_empty() {
                    return Err(invalid(format!("service config: {at} has a method but no service")));
                }
                self.default.replace(index).is_some()
            } else if method.is_empty() {
                self.services.insert(service.clone(), index).is_some()
            } else {
                self.exact.insert(format!("{service}/{method}"), index).is_some()
            };
            if duplicate {
                return Err(invalid(format!(
                    "service config: {at} ({{service: {service:?}, method: {method:?}}}) is named by another \
                     methodConfig entry too: each name may appear once"
                )));
            }
        }
        let timeout = match field(method, "timeout") {
            None => None,
            Some(value) => Some(duration(value, &format!("{at}.timeout"))?),
        };
        let wait_for_ready = match field(method, "waitForReady") {
            None => None,
            Some(Value::Bool(wait)) => Some(*wait),
            Some(_) => return Err(invalid(format!("service config: {at}.waitForReady must be true or false"))),
        };
        let max_request_bytes = optional_size(method, "maxRequestMessageBytes", &at)?;
        let max_response_bytes = optional_size(method, "maxResponseMessageBytes", &at)?;
        let policy = match (field(method, "retryPolicy"), field(method, "hedgingPolicy")) {
            (Some(_), Some(_)) => {
                return Err(invalid(format!(
                    "service config: {at} has both a retryPolicy and a hedgingPolicy: give one or the other"
                )));
            }
            (Some(retry), None) => Some(Policy::Retry(retry_policy(retry, &format!("{at}.retryPolicy"))?)),
            (None, Some(hedging)) => Some(Policy::Hedging(hedging_policy(hedging, &format!("{at}.hedgingPolicy"))?)),
            (None, None) => None,
        };
        self.configs.push(Arc::new(MethodConfig {
            timeout,
            wait_for_ready,
            max_request_bytes,
            max_response_bytes,
            policy,
        }));
        Ok(())
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidSetting, message)
}

/// A field that is present and not `null`.
fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).filter(|value| !value.is_null())
}

fn optional_string(object: &Map<String, Value>, name: &str, at: &str) -> Result<Option<String>, Error> {
    match field(object, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("service config: {at}.{name} must be a string"))),
    }
}

/// A byte count: a non-negative integer, as a JSON number or (protobuf's JSON for 64-bit
/// integers) a string.
fn optional_size(object: &Map<String, Value>, name: &str, at: &str) -> Result<Option<usize>, Error> {
    let Some(value) = field(object, name) else { return Ok(None) };
    let n = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse::<u64>().ok(),
        _ => None,
    };
    let n = n.ok_or_else(|| invalid(format!("service config: {at}.{name} must be a non-negative integer")))?;
    Ok(Some(usize::try_from(n).unwrap_or(usize::MAX)))
}

/// A protobuf JSON duration: `"1.5s"`, `"0.1s"`, `"20s"` (at most 9 decimals, not negative).
fn duration(value: &Value, at: &str) -> Result<Duration, Error> {
    let bad = |why: &str| invalid(format!("service config: {at} {why}"));
    let Value::String(text) = value else {
        return Err(bad("must be a duration string such as \"0.1s\""));
    };
    let Some(number) = text.strip_suffix('s') else {
        return Err(bad(&format!("is {text:?}: a duration ends in \"s\", such as \"0.1s\"")));
    };
    let (seconds, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if seconds.starts_with('-') {
        return Err(bad(&format!("is {text:?}: a duration here may not be negative")));
    }
    if (seconds.is_empty() && fraction.is_empty()) || !digits(seconds) || !digits(fraction) || fraction.len() > 9 {
        return Err(bad(&format!("is {text:?}: not a duration such as \"0.1s\" (seconds, at most 9 decimals)")));
    }
    let seconds: u64 = if seconds.is_empty() {
        0
    } else {
        seconds.parse().map_err(|_| bad(&format!("is {text:?}: too many seconds")))?
    };
    let nanos = format!("{fraction:0<9}").parse::<u32>().unwrap_or(0);
    Ok(Duration::new(seconds, nanos))
}

/// A duration that must be more than zero.
fn positive_duration(object: &Map<String, Value>, name: &str, at: &str) -> Result<Duration, Error> {
    let value = field(object, name).ok_or_else(|| invalid(format!("service config: {at}.{name} is required")))?;
    let duration = duration(value, &format!("{at}.{name}"))?;
    if duration.is_zero() {
        return Err(invalid(format!("service config: {at}.{name} must be greater than zero")));
    }
    Ok(duration)
}

/// `maxAttempts`: required, at least 2, capped at [`MAX_ATTEMPTS_CAP`].
fn max_attempts(object: &Map<String, Value>, at: &str) -> Result<u32, Error> {
    let value =
        field(object, "maxAttempts").ok_or_else(|| invalid(format!("service config: {at}.maxAttempts is required")))?;
    let n = value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| invalid(format!("service config: {at}.maxAttempts must be an integer")))?;
    if n < 2 {
        return Err(invalid(format!("service config: {at}.maxAttempts must be at least 2 (it is {n})")));
    }
    Ok(u32::try_from(n).unwrap_or(u32::MAX).min(MAX_ATTEMPTS_CAP))
}

/// A list of status codes, by name (`"UNAVAILABLE"`) or number (14).
fn codes(value: &Value, at: &str) -> Result<Codes, Error> {
    let Value::Array(list) = value else {
        return Err(invalid(format!("service config: {at} must be an array of status codes")));
    };
    let mut codes = Codes::default();
    for (i, code) in list.iter().enumerate() {
        let found = match code {
            Value::String(name) => Code::ALL.into_iter().find(|c| c.as_str() == name),
            Value::Number(n) => n.as_u64().and_then(|n| Code::ALL.get(usize::try_from(n).ok()?).copied()),
            _ => None,
        };
        let code = found.ok_or_else(|| {
            invalid(format!(
                "service config: {at}[{i}] is {code}: not a status code (a name such as \"UNAVAILABLE\", or 0 to 16)"
            ))
        })?;
        if code == Code::Ok {
            return Err(invalid(format!("service config: {at}[{i}] is OK, which is not a failure")));
        }
        codes.insert(code);
    }
    Ok(codes)
}

fn retry_policy(value: &Value, at: &str) -> Result<RetryPolicy, Error> {
    let Value::Object(policy) = value else {
        return Err(invalid(format!("service config: {at} must be an object")));
    };
    let max_attempts = max_attempts(policy, at)?;
    let initial_backoff = positive_duration(policy, "initialBackoff", at)?;
    let max_backoff = positive_duration(policy, "maxBackoff", at)?;
    let backoff_multiplier = field(policy, "backoffMultiplier")
        .ok_or_else(|| invalid(format!("service config: {at}.backoffMultiplier is required")))?
        .as_f64()
        .ok_or_else(|| invalid(format!("service config: {at}.backoffMultiplier must be a number")))?;
    if !(backoff_multiplier > 0.0 && backoff_multiplier.is_finite()) {
        return Err(invalid(format!("service config: {at}.backoffMultiplier must be greater than zero")));
    }
    let list = field(policy, "retryableStatusCodes")
        .ok_or_else(|| invalid(format!("service config: {at}.retryableStatusCodes is required")))?;
    let retryable = codes(list, &format!("{at}.retryableStatusCodes"))?;
    if retryable == Codes::default() {
        return Err(invalid(format!("service config: {at}.retryableStatusCodes must not be empty")));
    }
    Ok(RetryPolicy { max_attempts, initial_backoff, max_backoff, backoff_multiplier, retryable })
}

fn hedging_policy(value: &Value, at: &str) -> Result<HedgingPolicy, Error> {
    let Value::Object(policy) = value else {
        return Err(invalid(format!("service config: {at} must be an object")));
    };
    let max_attempts = max_attempts(policy, at)?;
    let hedging_delay = match field(policy, "hedgingDelay") {
        None => Duration::ZERO,
        Some(value) => duration(value, &format!("{at}.hedgingDelay"))?,
    };
    let non_fatal = match field(policy, "nonFatalStatusCodes") {
        None => Codes::default(),
        Some(list) => codes(list, &format!("{at}.nonFatalStatusCodes"))?,
    };
    Ok(HedgingPolicy { max_attempts, hedging_delay, non_fatal })
}

fn throttling_of(value: &Value) -> Result<RetryThrottling, Error> {
    let at = "retryThrottling";
    let Value::Object(throttling) = value else {
        return Err(invalid(format!("service config: {at} must be an object")));
    };
    let max_tokens = field(throttling, "maxTokens")
        .ok_or_else(|| invalid(format!("service config: {at}.maxTokens is required")))?
        .as_u64()
        .filter(|n| (1..=1000).contains(n))
        .ok_or_else(|| invalid(format!("service config: {at}.maxTokens must be an integer from 1 to 1000")))?;
    let token_ratio = field(throttling, "tokenRatio")
        .ok_or_else(|| invalid(format!("service config: {at}.tokenRatio is required")))?
        .as_f64()
        .filter(|r| *r > 0.0 && r.is_finite())
        .ok_or_else(|| invalid(format!("service config: {at}.tokenRatio must be a number greater than zero")))?;
    // gRPC keeps three decimals of the ratio.
    let token_ratio = (token_ratio * 1000.0).trunc() / 1000.0;
    if token_ratio <= 0.0 {
        return Err(invalid(format!("service config: {at}.tokenRatio must be at least 0.001")));
    }
    Ok(RetryThrottling { max_tokens: u32::try_from(max_tokens).unwrap_or(1000), token_ratio })
}

/// `loadBalancingConfig` (a list of `{policy_name: config}`, the first known one wins), else
/// the older `loadBalancingPolicy` string.
fn lb_policy_of(top: &Map<String, Value>) -> Result<Option<String>, Error> {
    if let Some(configs) = field(top, "loadBalancingConfig") {
        let Value::Array(configs) = configs else {
            return Err(invalid("service config: loadBalancingConfig must be an array".to_owned()));
        };
        for (i, config) in configs.iter().enumerate() {
            let Some(object) = config.as_object().filter(|o| o.len() == 1) else {
                return Err(invalid(format!(
                    "service config: loadBalancingConfig[{i}] must be an object with exactly one policy name"
                )));
            };
            if let Some(name) = object.keys().find(|name| KNOWN_LB_POLICIES.contains(&name.as_str())) {
                return Ok(Some(name.clone()));
            }
        }
        return Err(invalid(format!(
            "service config: loadBalancingConfig names no policy this client supports ({})",
            KNOWN_LB_POLICIES.join(", ")
        )));
    }
    match field(top, "loadBalancingPolicy") {
        None => Ok(None),
        Some(Value::String(name)) => {
            let name = name.to_ascii_lowercase();
            if !KNOWN_LB_POLICIES.contains(&name.as_str()) {
                return Err(invalid(format!(
                    "service config: loadBalancingPolicy {name:?} is not supported ({})",
                    KNOWN_LB_POLICIES.join(", ")
                )));
            }
            Ok(Some(name))
        }
        Some(_) => Err(invalid("service config: loadBalancingPolicy must be a string".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(json: &str) -> String {
        ServiceConfig::parse(json).expect_err("invalid").to_string()
    }

    const RETRY: &str = r#"{"maxAttempts": 3, "initialBackoff": "0.1s", "maxBackoff": "1s",
        "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE", 10]}"#;

    #[test]
    fn a_full_config_is_read() {
        let json = format!(
            r#"{{"methodConfig": [
                {{"name": [{{"service": "pkg.S", "method": "M"}}], "timeout": "1.5s", "waitForReady": true,
                  "maxRequestMessageBytes": 1024, "maxResponseMessageBytes": "2048", "retryPolicy": {RETRY}}},
                {{"name": [{{"service": "pkg.S"}}], "hedgingPolicy": {{"maxAttempts": 9, "hedgingDelay": "0.5s",
                  "nonFatalStatusCodes": ["UNAVAILABLE"]}}}},
                {{"name": [{{}}], "timeout": "7s"}}],
              "retryThrottling": {{"maxTokens": 10, "tokenRatio": 0.1234}},
              "loadBalancingConfig": [{{"weird_lb": {{}}}}, {{"round_robin": {{}}}}]}}"#
        );
        let config = ServiceConfig::parse(&json).expect("valid");
        let exact = config.method("/pkg.S/M").expect("M");
        assert_eq!(exact.timeout, Some(Duration::from_millis(1500)));
        assert_eq!(exact.wait_for_ready, Some(true));
        assert_eq!((exact.max_request_bytes, exact.max_response_bytes), (Some(1024), Some(2048)));
        let Some(Policy::Retry(retry)) = &exact.policy else { panic!("a retry policy: {exact:?}") };
        assert_eq!(retry.max_attempts, 3);
        assert_eq!((retry.initial_backoff, retry.max_backoff), (Duration::from_millis(100), Duration::from_secs(1)));
        assert_eq!(retry.backoff_multiplier, 2.0);
        assert!(retry.retryable.contains(Code::Unavailable) && retry.retryable.contains(Code::Aborted));
        assert!(!retry.retryable.contains(Code::Internal));
        let service = config.method("/pkg.S/Other").expect("the service's");
        let Some(Policy::Hedging(hedging)) = &service.policy else { panic!("a hedging policy") };
        assert_eq!(hedging.max_attempts, MAX_ATTEMPTS_CAP, "9 is capped at 5");
        assert_eq!(hedging.hedging_delay, Duration::from_millis(500));
        assert_eq!(config.method("/other.S/M").and_then(|c| c.timeout), Some(Duration::from_secs(7)));
        assert_eq!(config.throttling, Some(RetryThrottling { max_tokens: 10, token_ratio: 0.123 }));
        assert_eq!(config.lb_policy(), Some("round_robin"));
    }

    #[test]
    fn names_match_method_then_service_then_default() {
        let config = ServiceConfig::parse(
            r#"{"methodConfig": [{"name": [{"service": ""}], "timeout": "3s"},
                {"name": [{"service": "a.S"}], "timeout": "2s"},
                {"name": [{"service": "a.S", "method": "M"}, {"service": "b.T", "method": "N"}], "timeout": "1s"}]}"#,
        )
        .expect("valid");
        let timeout = |path: &str| config.method(path).and_then(|c| c.timeout).map(|t| t.as_secs());
        assert_eq!(timeout("/a.S/M"), Some(1));
        assert_eq!(timeout("/b.T/N"), Some(1));
        assert_eq!(timeout("/a.S/Other"), Some(2));
        assert_eq!(timeout("/b.T/Other"), Some(3));
        assert_eq!(timeout("/c.U/M"), Some(3));
        let none = ServiceConfig::parse(r#"{"methodConfig": [{"name": [{"service": "a.S"}]}]}"#).expect("valid");
        assert!(none.method("/b.T/M").is_none(), "no default: no config");
    }

    #[test]
    fn durations_are_protobuf_json() {
        let at = |s: &str| duration(&Value::String(s.to_owned()), "x");
        assert_eq!(at("0.1s").ok(), Some(Duration::from_millis(100)));
        assert_eq!(at(".25s").ok(), Some(Duration::from_millis(250)));
        assert_eq!(at("20s").ok(), Some(Duration::from_secs(20)));
        assert_eq!(at("1.000000001s").ok(), Some(Duration::new(1, 1)));
        assert_eq!(at("0s").ok(), Some(Duration::ZERO));
        for bad in ["1", "1.5", "s", "-1s", "1.0000000001s", "1ms", "a.bs", "1e3s", " 1s"] {
            assert!(at(bad).is_err(), "{bad:?} accepted");
        }
        assert!(duration(&Value::from(1), "x").is_err(), "a number is not a duration");
    }

    #[test]
    fn each_invalid_field_is_named_with_why() {
        let method = |body: &str| format!(r#"{{"methodConfig": [{{"name": [{{"service": "s"}}], {body}}}]}}"#);
        // RETRY with the fields of `change` (`"field": value, `) put over its own.
        let retry = |change: &str| {
            let mut policy: Map<String, Value> = serde_json::from_str(RETRY).expect("json");
            let change: Map<String, Value> =
                serde_json::from_str(&format!("{{{}}}", change.trim_end().trim_end_matches(','))).expect("json");
            policy.extend(change);
            method(&format!(r#""retryPolicy": {}"#, Value::Object(policy)))
        };
        let cases = [
            ("{", "not valid JSON".to_owned()),
            ("[]", "must be a JSON object".to_owned()),
            (
                r#"{"methodConfig": [{"name": [{"service": "s"}]}, {"name": [{"service": "s"}]}]}"#,
                "methodConfig[1].name[0]".to_owned(),
            ),
            (r#"{"methodConfig": [{"name": [{"method": "m"}]}]}"#, "has a method but no service".to_owned()),
            (&method(r#""timeout": "1""#), "methodConfig[0].timeout".to_owned()),
            (&method(r#""waitForReady": "yes""#), "methodConfig[0].waitForReady".to_owned()),
            (&method(r#""maxRequestMessageBytes": -1"#), "methodConfig[0].maxRequestMessageBytes".to_owned()),
            (&retry(r#""maxAttempts": 1, "#), "methodConfig[0].retryPolicy.maxAttempts must be at least 2".to_owned()),
            (
                &retry(r#""initialBackoff": "0s", "#),
                "methodConfig[0].retryPolicy.initialBackoff must be greater than zero".to_owned(),
            ),
            (&retry(r#""maxBackoff": "-1s", "#), "methodConfig[0].retryPolicy.maxBackoff".to_owned()),
            (&retry(r#""backoffMultiplier": 0, "#), "methodConfig[0].retryPolicy.backoffMultiplier".to_owned()),
            (&retry(r#""retryableStatusCodes": [], "#), "retryableStatusCodes must not be empty".to_owned()),
            (&retry(r#""retryableStatusCodes": ["NOPE"], "#), "retryableStatusCodes[0]".to_owned()),
            (&retry(r#""retryableStatusCodes": [17], "#), "retryableStatusCodes[0]".to_owned()),
            (
                &method(&format!(r#""retryPolicy": {RETRY}, "hedgingPolicy": {{"maxAttempts": 2}}"#)),
                "both a retryPolicy and a hedgingPolicy".to_owned(),
            ),
            (&method(r#""hedgingPolicy": {}"#), "methodConfig[0].hedgingPolicy.maxAttempts is required".to_owned()),
            (r#"{"retryThrottling": {"maxTokens": 0, "tokenRatio": 1}}"#, "retryThrottling.maxTokens".to_owned()),
            (r#"{"retryThrottling": {"maxTokens": 10, "tokenRatio": 0}}"#, "retryThrottling.tokenRatio".to_owned()),
            (r#"{"loadBalancingPolicy": "grpclb"}"#, "loadBalancingPolicy \"grpclb\"".to_owned()),
            (r#"{"loadBalancingConfig": [{"grpclb": {}}]}"#, "loadBalancingConfig names no policy".to_owned()),
        ];
        for (json, expected) in cases {
            let message = error_of(json);
            assert!(message.contains(&expected), "{json}: {message:?} does not say {expected:?}");
        }
        // Each listed field's required siblings are reported when missing, too.
        for missing in ["initialBackoff", "maxBackoff", "backoffMultiplier", "retryableStatusCodes", "maxAttempts"] {
            let value: Value = serde_json::from_str(RETRY).expect("json");
            let mut policy = value.as_object().cloned().expect("object");
            policy.remove(missing);
            let json = method(&format!(r#""retryPolicy": {}"#, Value::Object(policy)));
            let message = error_of(&json);
            assert!(message.contains(&format!("retryPolicy.{missing} is required")), "{message}");
        }
    }

    #[test]
    fn max_attempts_above_five_is_five_and_the_old_lb_field_is_read() {
        let json = RETRY.replace(r#""maxAttempts": 3"#, r#""maxAttempts": 100"#);
        let config = ServiceConfig::parse(&format!(
            r#"{{"loadBalancingPolicy": "ROUND_ROBIN", "methodConfig": [{{"name": [{{}}], "retryPolicy": {json}}}]}}"#
        ))
        .expect("valid");
        let Some(Policy::Retry(retry)) = &config.method("/a/b").expect("default").policy else { panic!("retry") };
        assert_eq!(retry.max_attempts, 5);
        assert_eq!(config.lb_policy(), Some("round_robin"));
        assert!(ServiceConfig::parse("{}").expect("empty is valid").lb_policy().is_none());
    }
}
