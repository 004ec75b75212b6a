//! JSON answers from the embedded model: a JSON Schema becomes a GBNF
//! grammar through llama.cpp's own converter, and the sampler follows it,
//! so that even a small model answers with JSON that parses and fits the
//! schema (`response_format` `json_object` and `json_schema`).

use serde_json::Value;

use crate::LlmError;

/// The grammar of JSON that fits `schema` (root rule `root`).
pub(crate) fn of_schema(schema: &Value) -> Result<String, LlmError> {
    llama_cpp_2::json_schema_to_grammar(&schema.to_string()).map_err(|e| LlmError::Unsupported {
        param: "response_format.json_schema.schema".into(),
        reason: format!("llama.cpp cannot turn this schema into a grammar ({e})"),
    })
}

/// The grammar of any JSON object (`json_object`).
pub(crate) fn any_object() -> Result<String, LlmError> {
    of_schema(&serde_json::json!({ "type": "object" }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_schema_becomes_a_grammar_that_names_its_properties() {
        let grammar = of_schema(&json!({
            "type": "object",
            "properties": { "termin": { "type": "string" }, "techniker": { "type": "integer" } },
            "required": ["termin", "techniker"]
        }));
        let grammar = grammar.unwrap_or_default();
        assert!(grammar.contains("root ::="), "{grammar}");
        assert!(
            grammar.contains("termin") && grammar.contains("techniker"),
            "{grammar}"
        );
        assert!(any_object().is_ok_and(|g| g.contains("root ::=")));
    }
}
