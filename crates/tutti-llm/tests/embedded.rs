//! The embedded model, for real: SmolLM2-135M-Instruct on the CPU through
//! llama.cpp (fetched by scripts/fetch-model; `TUTTI_MODEL` points elsewhere).

#![expect(clippy::unwrap_used, clippy::panic)]

use std::sync::OnceLock;

use tutti_llm::{
    ChatRequest, Chunk, EmbeddedConfig, EmbeddedModel, FinishReason, LlmError, Message, Speaker,
};

/// One model for the whole test binary, as in the server.
fn model() -> Option<&'static EmbeddedModel> {
    static MODEL: OnceLock<Option<EmbeddedModel>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let path = EmbeddedConfig::default_model_path();
            if !path.is_file() {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "no model at {} in CI: scripts/test fetches it",
                    path.display()
                );
                eprintln!("\n!!! no model at {}: the embedded-model tests did NOT run (scripts/fetch-model)\n", path.display());
                return None;
            }
            let mut config = EmbeddedConfig::new(path);
            config.threads = 2;
            Some(EmbeddedModel::load(config).unwrap())
        })
        .as_ref()
}

fn ask(question: &str, max_tokens: u32) -> ChatRequest {
    ChatRequest::new(vec![Message::new(Speaker::User, question)], max_tokens)
}

#[tokio::test]
async fn a_chat_streams_text_and_counts_tokens_exactly() {
    let Some(model) = model() else { return };
    let request = ask("Name three colours.", 48);
    let prompt_tokens = model.count_tokens(request.messages.clone()).await.unwrap();
    let mut completion = model.chat(request);
    let mut pieces = Vec::new();
    let (usage, finish) = loop {
        match completion.next().await.unwrap().unwrap() {
            Chunk::Text(piece) => pieces.push(piece),
            Chunk::Done { usage, finish } => break (usage, finish),
            Chunk::ToolCalls(calls) => panic!("no tools were offered: {calls:?}"),
        }
    };
    let text: String = pieces.concat();
    assert!(!text.trim().is_empty(), "no text");
    assert!(pieces.len() > 1, "the text did not stream: {pieces:?}");
    assert_eq!(usage.input_tokens, prompt_tokens);
    assert!(
        usage.output_tokens >= 1 && usage.output_tokens <= 48,
        "{usage:?}"
    );
    if finish == FinishReason::Length {
        assert_eq!(usage.output_tokens, 48);
    }
    // The prompt went through SmolLM2's own template, default system prompt included.
    assert!(
        prompt_tokens > 20,
        "{prompt_tokens} tokens: the default system prompt is missing"
    );
}

#[tokio::test]
async fn max_tokens_caps_the_answer() {
    let Some(model) = model() else { return };
    let mut request = ask("Write a long story about a heating engineer.", 7);
    request.ignore_end_of_turn = true;
    let (_, usage, finish) = model.chat(request).text().await.unwrap();
    assert_eq!((usage.output_tokens, finish), (7, FinishReason::Length));
}

#[tokio::test]
async fn batched_requests_answer_as_they_would_alone() {
    let Some(model) = model() else { return };
    let questions = [
        "What is a heat pump?",
        "Say hello in German.",
        "Count to five.",
        "What colour is the sky?",
    ];
    let mut alone = Vec::new();
    for q in questions {
        alone.push(model.chat(ask(q, 24)).text().await.unwrap().0);
    }
    let together: Vec<_> = questions.iter().map(|q| model.chat(ask(q, 24))).collect();
    let mut batched = Vec::new();
    for completion in together {
        batched.push(completion.text().await.unwrap().0);
    }
    assert_eq!(alone, batched);
}

#[tokio::test]
async fn a_prompt_too_long_for_the_context_is_refused() {
    let Some(model) = model() else { return };
    let long = "Heizung ".repeat(3000);
    let err = model.chat(ask(&long, 16)).text().await.unwrap_err();
    assert!(
        matches!(&err, LlmError::Invalid(m) if m.contains("does not fit")),
        "{err:?}"
    );
    let empty = model
        .chat(ChatRequest::new(vec![], 16))
        .text()
        .await
        .unwrap_err();
    assert!(matches!(empty, LlmError::Invalid(_)));
}

#[test]
fn a_missing_or_corrupt_model_says_how_to_get_one() {
    let dir = std::env::temp_dir().join(format!("tutti-llm-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = EmbeddedModel::load(EmbeddedConfig::new(dir.join("nothing.gguf"))).unwrap_err();
    assert!(
        matches!(&missing, LlmError::ModelUnavailable(m) if m.contains("scripts/fetch-model")),
        "{missing:?}"
    );
    let corrupt = dir.join("corrupt.gguf");
    std::fs::write(&corrupt, b"GGUF but not really a model").unwrap();
    let broken = EmbeddedModel::load(EmbeddedConfig::new(&corrupt)).unwrap_err();
    assert!(
        matches!(&broken, LlmError::ModelUnavailable(m) if m.contains("TUTTI_MODEL")),
        "{broken:?}"
    );
}

#[tokio::test]
async fn a_grammar_holds_the_answer_to_its_shape() {
    let Some(model) = model() else { return };
    let mut request = ask(
        "Which is warmer, 1. ice or 2. fire? Answer as Option, Confidence and Rationale lines.",
        96,
    );
    request.grammar = Some(
        "root ::= \"Option: \" (\"1\" | \"2\") \"\\nConfidence: 0.\" [0-9] \"\\nRationale: \" [^\\n]+\n"
            .into(),
    );
    let (text, _, _) = model.chat(request).text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() == 3, "{text:?}");
    assert!(["Option: 1", "Option: 2"].contains(&lines[0]), "{text:?}");
    assert!(
        lines[1].starts_with("Confidence: 0.") && lines[1].len() == "Confidence: 0.5".len(),
        "{text:?}"
    );
    assert!(
        lines[2].starts_with("Rationale: ") && lines[2].len() > "Rationale: ".len(),
        "{text:?}"
    );

    let mut broken = ask("Hello", 8);
    broken.grammar = Some("root ::= (".into());
    let refused = model.chat(broken).text().await.unwrap_err();
    assert!(matches!(refused, LlmError::Invalid(_)), "{refused:?}");
}

#[tokio::test]
async fn a_prompt_that_extends_an_earlier_one_reads_only_what_is_new() {
    let Some(shared) = model() else { return };
    // A model of its own, so that the other tests' requests do not take the
    // sequence whose memory this test counts on.
    let mut config = EmbeddedConfig::new(EmbeddedConfig::default_model_path());
    config.threads = 2;
    config.slots = 2;
    let model = EmbeddedModel::load(config).unwrap();
    let first_turn = vec![
        Message::new(
            Speaker::System,
            "You are the service desk of a heating firm.",
        ),
        Message::new(
            Speaker::User,
            "The heating in the kindergarten does not start.",
        ),
    ];
    let (answer, first, _) = model
        .chat(ChatRequest::new(first_turn.clone(), 24))
        .text()
        .await
        .unwrap();
    assert_eq!(first.cached_input_tokens, 0, "{first:?}");

    // The next turn repeats the first one: only the answer and the new
    // question are read, and the usage says how much came from memory.
    let mut second_turn = first_turn.clone();
    second_turn.push(Message::new(Speaker::Assistant, answer));
    second_turn.push(Message::new(Speaker::User, "Can someone come today?"));
    let (reply, second, _) = model
        .chat(ChatRequest::new(second_turn.clone(), 24))
        .text()
        .await
        .unwrap();
    assert!(
        second.cached_input_tokens >= first.input_tokens
            && second.cached_input_tokens < second.input_tokens,
        "{first:?} then {second:?}"
    );
    assert_eq!(
        second.input_tokens,
        shared.count_tokens(second_turn.clone()).await.unwrap(),
        "the cached part still counts as input"
    );

    // However much of the prompt comes from memory, the answer is the same.
    let (again, repeated, _) = model
        .chat(ChatRequest::new(second_turn, 24))
        .text()
        .await
        .unwrap();
    assert_eq!(repeated.cached_input_tokens, repeated.input_tokens - 1);
    assert_eq!(again, reply);
}
