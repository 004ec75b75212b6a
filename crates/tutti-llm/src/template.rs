//! The chat template: the GGUF's own `tokenizer.chat_template` (a Jinja
//! template), rendered with minijinja.
//!
//! We render it ourselves because llama.cpp's built-in template matcher
//! recognises templates by pattern and drops parts it does not know — for
//! SmolLM2 the default system prompt the model was trained with.

use minijinja::{Environment, Error, ErrorKind, context};

use crate::{LlmError, Message};

pub struct ChatTemplate {
    env: Environment<'static>,
    bos: String,
    eos: String,
}

impl ChatTemplate {
    pub fn new(source: String, bos: String, eos: String) -> Result<Self, LlmError> {
        let mut env = Environment::new();
        env.add_function(
            "raise_exception",
            |message: String| -> Result<String, Error> {
                Err(Error::new(ErrorKind::InvalidOperation, message))
            },
        );
        env.add_template_owned("chat", source).map_err(|e| {
            LlmError::ModelUnavailable(format!("the model's chat template does not parse: {e}"))
        })?;
        Ok(Self { env, bos, eos })
    }

    /// The prompt text for `messages`, ending where the assistant's answer begins.
    pub fn render(&self, messages: &[Message]) -> Result<String, LlmError> {
        let template = self
            .env
            .get_template("chat")
            .map_err(|e| LlmError::Engine(format!("chat template: {e}")))?;
        template
            .render(context! {
                messages => messages,
                add_generation_prompt => true,
                bos_token => &self.bos,
                eos_token => &self.eos,
            })
            .map_err(|e| {
                LlmError::Invalid(format!("the chat template refused these messages: {e}"))
            })
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;
    use crate::Speaker;

    /// The shape of SmolLM2's template: a default system prompt when none is given.
    const SMOL_LIKE: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn renders_the_default_system_prompt_and_the_generation_prompt() {
        let template = ChatTemplate::new(SMOL_LIKE.into(), "<s>".into(), "</s>".into()).unwrap();
        let prompt = template
            .render(&[Message::new(Speaker::User, "Hallo")])
            .unwrap();
        assert_eq!(
            prompt,
            "<|im_start|>system\nYou are a helpful AI assistant<|im_end|>\n<|im_start|>user\nHallo<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn a_template_that_raises_is_an_invalid_request() {
        let template = ChatTemplate::new(
            "{{ raise_exception('only user messages') }}".into(),
            String::new(),
            String::new(),
        )
        .unwrap();
        assert!(
            matches!(template.render(&[]), Err(LlmError::Invalid(m)) if m.contains("only user messages"))
        );
    }
}
