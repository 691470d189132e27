"""Subject and body for one lead, from a prompt version: one pluggable generator.

``generator_get()`` picks the generator from the settings: the template generator by default;
the OpenAI-compatible chat-completions generator when LOCKLINE_LLM_URL is set. Generation
happens at launch and its output is stored on the Message, so every retry resends the same text.
"""
from __future__ import annotations

import logging
import random
import string
import time
from dataclasses import dataclass

import requests
from django.conf import settings

from campaigns.models import PromptVersion
from leads.models import Lead

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Generated:
    subject: str
    body: str


class GenerationError(RuntimeError):
    """The generator could not produce a message for this lead (nothing was stored)."""


class _Fields(dict):
    """Lead fields for str.format_map; an unknown {placeholder} renders empty, not KeyError."""

    def __missing__(self, key: str) -> str:
        return ""


def lead_fields(lead: Lead) -> dict[str, str]:
    first = (lead.name or "").split(" ")[0]
    fields = {str(k): str(v) for k, v in (lead.metadata or {}).items() if isinstance(k, str)}
    fields.update(
        name=lead.name or "there", first_name=first or "there", company=lead.company or "your company",
        email=lead.email, domain=lead.domain,
    )
    return fields


def render(template: str, lead: Lead) -> str:
    """``template`` with {name}, {company}, {first_name}, {email}, {domain} and any metadata key."""
    fields = _Fields(lead_fields(lead))
    try:
        return string.Formatter().vformat(template, (), fields)
    except (ValueError, IndexError) as exc:  # a stray "{" in the template
        raise GenerationError(f"template cannot be rendered: {exc}") from exc


class TemplateGenerator:
    """Renders the prompt version's subject template and, as the body, its prompt text minus the
    first line when that line is an instruction to an AI (as in the demo prompt)."""

    name = "template"

    def generate(self, *, prompt_version: PromptVersion, lead: Lead) -> Generated:
        text = prompt_version.prompt
        first, _, rest = text.partition("\n")
        if rest and first.lower().startswith("you "):
            text = rest
        return Generated(subject=render(prompt_version.subject_template, lead).strip(),
                         body=render(text, lead).strip() + "\n")


class ChatCompletionsGenerator:
    """Calls an OpenAI-compatible ``/chat/completions`` endpoint: the prompt version's text is the
    system prompt, the lead's fields the user message; the reply's first line is the subject
    when it starts with "Subject:", else the rendered subject template is used.

    Timeouts on every call (LOCKLINE_LLM_TIMEOUT); 429 and 5xx are retried
    LOCKLINE_LLM_RETRIES times with exponential backoff and jitter (honouring Retry-After).
    """

    name = "chat-completions"

    def __init__(self, *, url: str, api_key: str, model: str, timeout: float, retries: int):
        self.url = url.rstrip("/")
        if not self.url.endswith("/chat/completions"):
            self.url += "/chat/completions"
        self.api_key, self.model, self.timeout, self.retries = api_key, model, timeout, retries
        self.session = requests.Session()

    def generate(self, *, prompt_version: PromptVersion, lead: Lead) -> Generated:
        fields = lead_fields(lead)
        user = "Write the email for this lead.\n" + "\n".join(f"{k}: {v}" for k, v in sorted(fields.items()))
        payload = {
            "model": prompt_version.model_name if prompt_version.model_name not in ("", "template") else self.model,
            "messages": [{"role": "system", "content": prompt_version.prompt}, {"role": "user", "content": user}],
        }
        reply = self._post(payload)
        try:
            content = reply["choices"][0]["message"]["content"].strip()
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise GenerationError(f"unexpected chat-completions reply: {str(reply)[:200]}") from exc
        if not content:
            raise GenerationError("chat-completions returned an empty message")
        first, _, rest = content.partition("\n")
        if first.lower().startswith("subject:") and rest.strip():
            return Generated(subject=first[len("subject:"):].strip(), body=rest.strip() + "\n")
        return Generated(subject=render(prompt_version.subject_template, lead).strip(), body=content + "\n")

    def _post(self, payload: dict) -> dict:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        for attempt in range(self.retries + 1):
            try:
                response = self.session.post(self.url, json=payload, headers=headers, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt == self.retries:
                    raise GenerationError(f"chat-completions unreachable: {exc}") from exc
                self._wait(attempt, None)
                continue
            if response.status_code == 429 or response.status_code >= 500:
                if attempt == self.retries:
                    raise GenerationError(f"chat-completions answered {response.status_code} {attempt + 1} times")
                self._wait(attempt, response.headers.get("Retry-After"))
                continue
            if response.status_code != 200:
                raise GenerationError(f"chat-completions answered {response.status_code}: {response.text[:200]}")
            try:
                return response.json()
            except ValueError as exc:
                raise GenerationError("chat-completions answered with invalid JSON") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _wait(attempt: int, retry_after: str | None) -> None:
        try:
            delay = float(retry_after) if retry_after else None
        except ValueError:
            delay = None
        if delay is None:
            delay = settings.LOCKLINE_LLM_BACKOFF * 2**attempt * random.uniform(0.5, 1.5)
        time.sleep(min(delay, settings.LOCKLINE_LLM_MAX_BACKOFF))


def generator_get():
    """The configured generator: chat-completions when LOCKLINE_LLM_URL is set, else template."""
    if settings.LOCKLINE_LLM_URL:
        return ChatCompletionsGenerator(
            url=settings.LOCKLINE_LLM_URL, api_key=settings.LOCKLINE_LLM_API_KEY, model=settings.LOCKLINE_LLM_MODEL,
            timeout=settings.LOCKLINE_LLM_TIMEOUT, retries=settings.LOCKLINE_LLM_RETRIES,
        )
    return TemplateGenerator()
