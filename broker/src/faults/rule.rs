//! A fault rule: which requests it matches and what it does to them. Built in Rust with
//! [`Fault::on`], or read from JSON (the control listener's `POST /v1/faults` body) through
//! [`FaultSpec`], which takes API names and Kafka error names or numbers.

use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::ApiKey;
use serde::{Deserialize, Serialize};

/// What a rule does to a request it fires on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with this Kafka error code, in the API's own response shape, without handling
    /// the request.
    Error(i16),
    /// Wait this long (on a timer, never blocking a thread), then handle and answer as usual.
    Delay(Duration),
    /// Handle the request (its effects happen), send nothing and close the connection.
    DropResponse,
    /// Close the connection before handling the request.
    CloseConnection,
    /// EndTxn only: handle it, but stop the transaction coordinator after it persists
    /// PrepareCommit/PrepareAbort and before any marker, as if the broker crashed there. The
    /// client gets COORDINATOR_NOT_AVAILABLE; the transaction stays prepared (its partitions'
    /// last stable offset held) until the broker restarts and finishes it.
    HaltBeforeMarkers,
}

/// A fault rule. Filters left `None` match everything; `after` skips the first N matching
/// requests; `count` bounds how many times it fires (unbounded when `None`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "FaultSpec", into = "FaultSpec")]
pub struct Fault {
    pub api: ApiKey,
    pub topic: Option<String>,
    pub partition: Option<i32>,
    pub client_id: Option<String>,
    pub after: u64,
    pub count: Option<u64>,
    pub action: FaultAction,
}

impl Fault {
    /// A rule on every request of `api`, answering UNKNOWN_SERVER_ERROR until told otherwise
    /// (`error`, `delay`, `drop_response`, `close_connection`).
    pub fn on(api: ApiKey) -> Fault {
        Fault {
            api,
            topic: None,
            partition: None,
            client_id: None,
            after: 0,
            count: None,
            action: FaultAction::Error(ResponseError::UnknownServerError.code()),
        }
    }

    pub fn error(self, error: ResponseError) -> Fault {
        self.error_code(error.code())
    }

    pub fn error_code(mut self, code: i16) -> Fault {
        self.action = FaultAction::Error(code);
        self
    }

    pub fn delay(mut self, delay: Duration) -> Fault {
        self.action = FaultAction::Delay(delay);
        self
    }

    pub fn drop_response(mut self) -> Fault {
        self.action = FaultAction::DropResponse;
        self
    }

    pub fn close_connection(mut self) -> Fault {
        self.action = FaultAction::CloseConnection;
        self
    }

    /// See [`FaultAction::HaltBeforeMarkers`] (a rule on EndTxn).
    pub fn halt_before_markers(mut self) -> Fault {
        self.action = FaultAction::HaltBeforeMarkers;
        self
    }

    /// Fires at most `count` times.
    pub fn times(mut self, count: u64) -> Fault {
        self.count = Some(count);
        self
    }

    /// Lets the first `skipped` matching requests through untouched.
    pub fn after(mut self, skipped: u64) -> Fault {
        self.after = skipped;
        self
    }

    /// Only requests that touch this topic.
    pub fn topic(mut self, topic: impl Into<String>) -> Fault {
        self.topic = Some(topic.into());
        self
    }

    /// Only requests that touch this partition (of `topic`, when set; else of any topic).
    pub fn partition(mut self, partition: i32) -> Fault {
        self.partition = Some(partition);
        self
    }

    /// Only requests whose header carries this client id.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Fault {
        self.client_id = Some(client_id.into());
        self
    }
}

/// A rule's number, given by `Faults::add`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FaultId(pub u64);

/// A rule as listed: its id, the rule, and how many times it fired so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FaultStatus {
    pub id: FaultId,
    #[serde(flatten)]
    pub fault: Fault,
    pub fired: u64,
}

/// The JSON form of a rule: `{"api":"Produce","error_code":"NOT_LEADER_OR_FOLLOWER","count":2}`.
/// `api` is a name ("Produce") or a key number; `error_code` a number or a Kafka error name;
/// `action` is `error` (the default), `delay` (with `delay_ms`), `drop_response`,
/// `close_connection` or (EndTxn) `halt_before_markers`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub api: NameOrNumber,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default)]
    pub after: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default)]
    pub action: ActionName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<NameOrNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionName {
    #[default]
    Error,
    Delay,
    DropResponse,
    CloseConnection,
    HaltBeforeMarkers,
}

/// A name or a number in JSON: `"Produce"` or `0`, `"NOT_LEADER_OR_FOLLOWER"` or `6`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NameOrNumber {
    Number(i16),
    Name(String),
}

impl Default for NameOrNumber {
    fn default() -> Self {
        NameOrNumber::Number(0)
    }
}

/// Why a [`FaultSpec`] is not a rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FaultSpecError {
    #[error("unknown API {0:?}")]
    UnknownApi(NameOrNumber),
    #[error("unknown Kafka error {0:?}")]
    UnknownError(String),
    #[error("error_code 0 (NONE) is not an error")]
    NoneIsNotAnError,
    #[error("the error action needs an error_code")]
    MissingErrorCode,
    #[error("the delay action needs delay_ms")]
    MissingDelay,
    #[error("{0} belongs to another action")]
    Misplaced(&'static str),
    #[error("the halt_before_markers action applies to EndTxn only")]
    HaltNeedsEndTxn,
}

impl TryFrom<FaultSpec> for Fault {
    type Error = FaultSpecError;

    fn try_from(spec: FaultSpec) -> Result<Fault, FaultSpecError> {
        let api = match &spec.api {
            NameOrNumber::Number(key) => ApiKey::try_from(*key).ok(),
            NameOrNumber::Name(name) => parse_api(name),
        };
        let api = api.ok_or_else(|| FaultSpecError::UnknownApi(spec.api.clone()))?;
        if spec.action != ActionName::Error && spec.error_code.is_some() {
            return Err(FaultSpecError::Misplaced("error_code"));
        }
        if spec.action != ActionName::Delay && spec.delay_ms.is_some() {
            return Err(FaultSpecError::Misplaced("delay_ms"));
        }
        let action = match spec.action {
            ActionName::Error => {
                let code = match spec.error_code.ok_or(FaultSpecError::MissingErrorCode)? {
                    NameOrNumber::Number(code) => code,
                    NameOrNumber::Name(name) => {
                        parse_error_code(&name).ok_or(FaultSpecError::UnknownError(name))?
                    }
                };
                if code == 0 {
                    return Err(FaultSpecError::NoneIsNotAnError);
                }
                FaultAction::Error(code)
            }
            ActionName::Delay => FaultAction::Delay(Duration::from_millis(
                spec.delay_ms.ok_or(FaultSpecError::MissingDelay)?,
            )),
            ActionName::DropResponse => FaultAction::DropResponse,
            ActionName::CloseConnection => FaultAction::CloseConnection,
            ActionName::HaltBeforeMarkers if api != ApiKey::EndTxn => {
                return Err(FaultSpecError::HaltNeedsEndTxn)
            }
            ActionName::HaltBeforeMarkers => FaultAction::HaltBeforeMarkers,
        };
        Ok(Fault {
            api,
            topic: spec.topic,
            partition: spec.partition,
            client_id: spec.client_id,
            after: spec.after,
            count: spec.count,
            action,
        })
    }
}

impl From<Fault> for FaultSpec {
    fn from(fault: Fault) -> FaultSpec {
        let (action, error_code, delay_ms) = match fault.action {
            FaultAction::Error(code) => (ActionName::Error, Some(NameOrNumber::Number(code)), None),
            FaultAction::Delay(d) => (ActionName::Delay, None, Some(d.as_millis() as u64)),
            FaultAction::DropResponse => (ActionName::DropResponse, None, None),
            FaultAction::CloseConnection => (ActionName::CloseConnection, None, None),
            FaultAction::HaltBeforeMarkers => (ActionName::HaltBeforeMarkers, None, None),
        };
        FaultSpec {
            api: NameOrNumber::Name(format!("{:?}", fault.api)),
            topic: fault.topic,
            partition: fault.partition,
            client_id: fault.client_id,
            after: fault.after,
            count: fault.count,
            action,
            error_code,
            delay_ms,
        }
    }
}

/// An API by its name as kafka-protocol spells it ("Produce", "OffsetCommit"; any case) or its
/// key number ("0").
pub fn parse_api(text: &str) -> Option<ApiKey> {
    if let Ok(key) = text.parse::<i16>() {
        return ApiKey::try_from(key).ok();
    }
    (0..1000)
        .filter_map(|k| ApiKey::try_from(k).ok())
        .find(|k| format!("{k:?}").eq_ignore_ascii_case(text))
}

/// A Kafka error code by Kafka's name ("NOT_LEADER_OR_FOLLOWER", any case) or its number ("6").
pub fn parse_error_code(text: &str) -> Option<i16> {
    if let Ok(code) = text.parse::<i16>() {
        return Some(code);
    }
    (-1..1000)
        .filter_map(ResponseError::try_from_code)
        .filter(|e| !matches!(e, ResponseError::Unknown(_)))
        .find(|e| kafka_name(e).eq_ignore_ascii_case(text))
        .map(|e| e.code())
}

/// Kafka's SCREAMING_SNAKE name of an error from kafka-protocol's CamelCase variant.
fn kafka_name(error: &ResponseError) -> String {
    let camel = format!("{error:?}");
    let mut name = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Fault, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn error_names_and_numbers_both_give_the_code() {
        assert_eq!(parse_error_code("NOT_LEADER_OR_FOLLOWER"), Some(6));
        assert_eq!(parse_error_code("unknown_topic_or_partition"), Some(3));
        assert_eq!(parse_error_code("UNKNOWN_SERVER_ERROR"), Some(-1));
        assert_eq!(parse_error_code("COORDINATOR_LOAD_IN_PROGRESS"), Some(14));
        assert_eq!(parse_error_code("NO_SUCH_ERROR"), None);
        assert_eq!(parse_error_code("6"), Some(6));
        assert_eq!(parse_api("Produce"), Some(ApiKey::Produce));
        assert_eq!(parse_api("offsetcommit"), Some(ApiKey::OffsetCommit));
        assert_eq!(parse_api("1"), Some(ApiKey::Fetch));
        assert_eq!(parse_api("Nope"), None);
        let by_name = parse(r#"{"api":"Produce","error_code":"NOT_LEADER_OR_FOLLOWER"}"#);
        let by_number = parse(r#"{"api":0,"error_code":6}"#);
        assert_eq!(by_name.unwrap(), by_number.unwrap());
    }

    #[test]
    fn json_rules_read_every_action_and_filter() {
        let f = parse(r#"{"api":"Produce","error_code":6,"count":2}"#).unwrap();
        assert_eq!(
            f,
            Fault::on(ApiKey::Produce)
                .error(ResponseError::NotLeaderOrFollower)
                .times(2)
        );
        let f = parse(r#"{"api":"Fetch","action":"delay","delay_ms":250,"topic":"t","partition":1,"client_id":"c","after":3}"#)
            .unwrap();
        assert_eq!(
            f,
            Fault::on(ApiKey::Fetch)
                .delay(Duration::from_millis(250))
                .topic("t")
                .partition(1)
                .client_id("c")
                .after(3)
        );
        let f = parse(r#"{"api":"EndTxn","action":"drop_response"}"#).unwrap();
        assert_eq!(f.action, FaultAction::DropResponse);
        let f = parse(r#"{"api":"joingroup","action":"close_connection"}"#).unwrap();
        assert_eq!(f.api, ApiKey::JoinGroup);
        assert_eq!(f.action, FaultAction::CloseConnection);
        let f = parse(r#"{"api":"EndTxn","action":"halt_before_markers","count":1}"#).unwrap();
        assert_eq!(f, Fault::on(ApiKey::EndTxn).halt_before_markers().times(1));
    }

    #[test]
    fn json_rules_that_say_too_little_or_too_much_are_refused() {
        for bad in [
            r#"{"api":"Produce"}"#,
            r#"{"api":"Produce","error_code":0}"#,
            r#"{"api":"Produce","error_code":"NOPE"}"#,
            r#"{"api":"Nope","error_code":6}"#,
            r#"{"api":"Produce","action":"delay"}"#,
            r#"{"api":"Produce","action":"delay","delay_ms":5,"error_code":6}"#,
            r#"{"api":"Produce","action":"drop_response","delay_ms":5}"#,
            r#"{"api":"Produce","error_code":6,"typo":1}"#,
            r#"{"api":"Produce","action":"halt_before_markers"}"#,
            r#"{"api":"EndTxn","action":"halt_before_markers","error_code":6}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn a_rule_round_trips_through_json() {
        let rule = Fault::on(ApiKey::OffsetCommit)
            .error(ResponseError::CoordinatorLoadInProgress)
            .topic("t")
            .after(1)
            .times(4);
        let json = serde_json::to_string(&rule).unwrap();
        assert_eq!(parse(&json).unwrap(), rule);
        let status = serde_json::to_value(FaultStatus {
            id: FaultId(7),
            fault: Fault::on(ApiKey::Produce).delay(Duration::from_millis(20)),
            fired: 3,
        })
        .unwrap();
        assert_eq!(
            status,
            serde_json::json!({"id":7,"api":"Produce","after":0,"action":"delay","delay_ms":20,"fired":3})
        );
    }
}
