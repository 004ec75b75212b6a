//! A GBNF grammar for one JSON object, llama.cpp's standard JSON grammar
//! written out: what `response_format: {"type": "json_object"}` makes the
//! embedded model follow, so that even a small model answers with JSON that
//! parses.

/// Any JSON object (root rule `root`), with bounded whitespace so that a
/// model cannot loop on blanks.
pub(crate) const JSON_OBJECT: &str = r#"root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws
object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws
array  ::= "[" ws ( value ("," ws value)* )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F]) )* "\"" ws
number ::= "-"? ([0-9] | [1-9] [0-9]*) ("." [0-9]+)? ([eE] [-+]? [0-9]+)? ws
ws     ::= | " " | "\n" [ \t]{0,20}
"#;

/// The grammar of a JSON Schema (`response_format.json_schema.schema`).
pub(crate) fn of_schema(schema: &serde_json::Value) -> Result<String, crate::LlmError> {
    let _ = schema;
    Err(crate::LlmError::Unsupported {
        param: "response_format.json_schema".into(),
        reason:
            "the embedded model takes json_object; a schema needs an OpenAI-compatible provider"
                .into(),
    })
}
