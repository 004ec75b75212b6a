//! Tool calls by the embedded model. SmolLM2 has no tool format of its own,
//! so the call is made by a grammar: the sampler may only write JSON that
//! fits the function's `parameters` schema (a named `tool_choice`), or an
//! object `{"name": …, "arguments": …}` for one of the offered tools
//! (`"required"`). The answer then goes back as OpenAI's `tool_calls`, with
//! `finish_reason` `tool_calls`, and its tokens are metered like any.
//!
//! A small model cannot be trusted to decide by itself whether to call a
//! tool, so `tool_choice` `"auto"` (the default when tools are sent) is
//! refused by name rather than silently answered in text; `"none"` answers
//! in text as asked.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use crate::{Chunk, FinishReason, LlmError};

/// How the answer becomes a tool call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ToolCall {
    /// The answer is the arguments of this function.
    Named(String),
    /// The answer is `{"name": …, "arguments": …}` for one of the tools.
    AnyOf,
}

fn unsupported(param: &str, reason: impl Into<String>) -> LlmError {
    LlmError::Unsupported {
        param: param.to_owned(),
        reason: reason.into(),
    }
}

/// Reads `tools` and `tool_choice`: no call (no tools, or `"none"`), or the
/// call to make and the grammar that makes it.
pub(crate) fn plan(
    tools: Option<&Value>,
    choice: Option<&Value>,
) -> Result<Option<(ToolCall, String)>, LlmError> {
    let tools = match tools {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(tools)) => tools.as_slice(),
        Some(_) => return Err(unsupported("tools", "must be a list of functions")),
    };
    let mut functions = Vec::with_capacity(tools.len());
    for (i, tool) in tools.iter().enumerate() {
        let name = tool
            .pointer("/function/name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty() && tool["type"] == "function")
            .ok_or_else(|| {
                unsupported(
                    &format!("tools[{i}]"),
                    "must be {\"type\": \"function\", \"function\": {\"name\": …}}",
                )
            })?;
        let parameters = tool
            .pointer("/function/parameters")
            .cloned()
            .unwrap_or_else(|| json!({ "type": "object" }));
        functions.push((name, parameters));
    }
    let call = match choice {
        Some(Value::String(choice)) if choice == "none" => return Ok(None),
        None | Some(Value::Null) if functions.is_empty() => return Ok(None),
        Some(Value::String(choice)) if choice == "required" => ToolCall::AnyOf,
        Some(named @ Value::Object(_)) => {
            let name = named
                .pointer("/function/name")
                .and_then(Value::as_str)
                .ok_or_else(|| unsupported("tool_choice", "must name a function: {\"type\": \"function\", \"function\": {\"name\": …}}"))?;
            ToolCall::Named(name.to_owned())
        }
        None | Some(Value::Null) => {
            return Err(unsupported(
                "tool_choice",
                "the embedded model does not decide by itself whether to call a tool; send tool_choice \"required\" or name a function (an OpenAI-compatible provider takes \"auto\")",
            ));
        }
        Some(Value::String(choice)) if choice == "auto" => {
            return Err(unsupported(
                "tool_choice",
                "the embedded model does not decide by itself whether to call a tool; send \"required\" or name a function (an OpenAI-compatible provider takes \"auto\")",
            ));
        }
        Some(_) => {
            return Err(unsupported(
                "tool_choice",
                "must be none, required, or a named function",
            ));
        }
    };
    if functions.is_empty() {
        return Err(unsupported("tools", "a tool call needs at least one tool"));
    }
    let schema = match &call {
        ToolCall::Named(name) => functions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, parameters)| parameters.clone())
            .ok_or_else(|| {
                unsupported(
                    "tool_choice.function.name",
                    format!("`{name}` is not one of the tools"),
                )
            })?,
        ToolCall::AnyOf => {
            let calls: Vec<Value> = functions
                .iter()
                .map(|(name, parameters)| {
                    json!({
                        "type": "object",
                        "properties": { "name": { "const": name }, "arguments": parameters },
                        "required": ["name", "arguments"],
                        "additionalProperties": false,
                    })
                })
                .collect();
            json!({ "oneOf": calls })
        }
    };
    let grammar = llama_cpp_2::json_schema_to_grammar(&schema.to_string()).map_err(|e| {
        unsupported(
            "tools",
            format!("llama.cpp cannot turn the function's parameters into a grammar ({e})"),
        )
    })?;
    Ok(Some((call, grammar)))
}

/// Tool-call ids differ within a process (and, by the clock, across runs).
fn call_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!(
        "call_{nanos:016x}{:04x}",
        NEXT.fetch_add(1, Ordering::Relaxed) & 0xffff
    )
}

impl ToolCall {
    /// The generated `text` as what the caller receives, with its finish:
    /// one tool call; or, when the answer was cut off (`max_tokens`) before
    /// it named its function, the text as it is, finishing for its length.
    pub(crate) fn answer(&self, text: String, finish: FinishReason) -> (Chunk, FinishReason) {
        let (name, arguments) = match self {
            ToolCall::Named(name) => (name.clone(), text),
            ToolCall::AnyOf => match serde_json::from_str::<Value>(&text) {
                Ok(call) => match (call["name"].as_str(), call.get("arguments")) {
                    (Some(name), Some(arguments)) => (name.to_owned(), arguments.to_string()),
                    _ => return (Chunk::Text(text), finish),
                },
                Err(_) => return (Chunk::Text(text), finish),
            },
        };
        let finish = match finish {
            FinishReason::Stop => FinishReason::ToolCalls,
            other => other,
        };
        let call = json!({
            "index": 0,
            "id": call_id(),
            "type": "function",
            "function": { "name": name, "arguments": arguments },
        });
        (Chunk::ToolCalls(vec![call]), finish)
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn tools() -> Value {
        json!([
            { "type": "function", "function": { "name": "termin_eintragen",
              "parameters": { "type": "object", "properties": { "tag": { "type": "string" } }, "required": ["tag"] } } },
            { "type": "function", "function": { "name": "kunde_anrufen" } },
        ])
    }

    fn refused(choice: Value) -> String {
        match plan(Some(&tools()), Some(&choice)) {
            Err(LlmError::Unsupported { param, .. }) => param,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn a_call_is_made_only_when_asked_for_by_name_or_required() {
        assert_eq!(plan(Some(&tools()), Some(&json!("none"))).unwrap(), None);
        assert_eq!(plan(None, None).unwrap(), None);
        assert_eq!(plan(Some(&json!([])), None).unwrap(), None);
        let (named, grammar) = plan(
            Some(&tools()),
            Some(&json!({ "type": "function", "function": { "name": "termin_eintragen" } })),
        )
        .unwrap()
        .unwrap();
        assert_eq!(named, ToolCall::Named("termin_eintragen".into()));
        assert!(grammar.contains("tag"), "{grammar}");
        let (any, grammar) = plan(Some(&tools()), Some(&json!("required")))
            .unwrap()
            .unwrap();
        assert_eq!(any, ToolCall::AnyOf);
        assert!(grammar.contains("kunde_anrufen"), "{grammar}");
        assert_eq!(refused(json!("auto")), "tool_choice");
        assert_eq!(
            match plan(Some(&tools()), None) {
                Err(LlmError::Unsupported { param, .. }) => param,
                other => format!("{other:?}"),
            },
            "tool_choice"
        );
        assert_eq!(
            refused(json!({ "type": "function", "function": { "name": "fehlt" } })),
            "tool_choice.function.name"
        );
        assert_eq!(refused(json!(3)), "tool_choice");
        assert!(matches!(
            plan(Some(&json!([{ "type": "function" }])), Some(&json!("required"))),
            Err(LlmError::Unsupported { param, .. }) if param == "tools[0]"
        ));
    }

    #[test]
    fn the_answer_goes_back_as_one_tool_call() {
        let named = ToolCall::Named("termin_eintragen".into());
        let (chunk, finish) = named.answer(r#"{"tag": "Montag"}"#.into(), FinishReason::Stop);
        assert_eq!(finish, FinishReason::ToolCalls);
        let Chunk::ToolCalls(calls) = chunk else {
            panic!("{chunk:?}")
        };
        assert_eq!(calls[0]["function"]["name"], "termin_eintragen");
        assert_eq!(calls[0]["function"]["arguments"], r#"{"tag": "Montag"}"#);
        assert!(calls[0]["id"].as_str().unwrap().starts_with("call_"));

        let (chunk, finish) = ToolCall::AnyOf.answer(
            r#"{"name": "kunde_anrufen", "arguments": {}}"#.into(),
            FinishReason::Stop,
        );
        assert_eq!(finish, FinishReason::ToolCalls);
        let Chunk::ToolCalls(calls) = chunk else {
            panic!("{chunk:?}")
        };
        assert_eq!(calls[0]["function"]["name"], "kunde_anrufen");
        assert_eq!(calls[0]["function"]["arguments"], "{}");

        // Cut off before it named its function: the text, for its length.
        let (chunk, finish) =
            ToolCall::AnyOf.answer(r#"{"name": "kun"#.into(), FinishReason::Length);
        assert_eq!(
            (chunk, finish),
            (Chunk::Text(r#"{"name": "kun"#.into()), FinishReason::Length)
        );
    }
}
