"""The OpenAI-compatible generator against a stub chat-completions server on 127.0.0.1."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from campaigns.delivery.generators import ChatCompletionsGenerator, GenerationError, TemplateGenerator, generator_get
from tests.factories import LeadFactory, PromptVersionFactory

pytestmark = pytest.mark.django_db


class StubServer:
    """Answers each POST with the next (status, body) of ``script`` and records the requests."""

    def __init__(self, script):
        self.script, self.requests = list(script), []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                stub.requests.append((self.path, dict(self.headers), json.loads(self.rfile.read(length))))
                status, body = stub.script.pop(0) if len(stub.script) > 1 else stub.script[0]
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def reply(content):
    return 200, {"choices": [{"message": {"role": "assistant", "content": content}}]}


@pytest.fixture
def stub(request):
    server = StubServer(request.param)
    yield server
    server.close()


def generator(url, **kwargs):
    return ChatCompletionsGenerator(url=url, api_key="sk-test", model="small-model", timeout=5, retries=2, **kwargs)


@pytest.mark.parametrize("stub", [[(429, {"error": "slow down"}), (503, {}), reply("Subject: Hi Ada\n\nShort body.")]],
                         indirect=True)
def test_the_chat_generator_retries_429_and_5xx_and_uses_the_prompt_as_system_prompt(stub, settings):
    settings.LOCKLINE_LLM_BACKOFF = 0.01
    prompt = PromptVersionFactory(prompt="You are a concise sales writer.", model_name="template")
    lead = LeadFactory(name="Ada", company="Acme")

    generated = generator(stub.url).generate(prompt_version=prompt, lead=lead)

    assert (generated.subject, generated.body) == ("Hi Ada", "Short body.\n")
    assert len(stub.requests) == 3
    path, headers, body = stub.requests[-1]
    assert path == "/v1/chat/completions" and headers["Authorization"] == "Bearer sk-test"
    assert body["model"] == "small-model"
    assert body["messages"][0] == {"role": "system", "content": "You are a concise sales writer."}
    assert "company: Acme" in body["messages"][1]["content"]


@pytest.mark.parametrize("stub", [[(500, {"error": "down"})]], indirect=True)
def test_the_chat_generator_gives_up_with_a_clear_error(stub, settings):
    settings.LOCKLINE_LLM_BACKOFF = 0.01
    with pytest.raises(GenerationError, match="answered 500 3 times"):
        generator(stub.url).generate(prompt_version=PromptVersionFactory(), lead=LeadFactory())
    assert len(stub.requests) == 3


@pytest.mark.parametrize("stub", [[reply("Plain body without a subject line.")]], indirect=True)
def test_without_a_subject_line_the_subject_template_is_used(stub):
    prompt = PromptVersionFactory(subject_template="{company}: a question")
    generated = generator(stub.url).generate(prompt_version=prompt, lead=LeadFactory(company="Globex"))
    assert generated.subject == "Globex: a question" and generated.body == "Plain body without a subject line.\n"


def test_the_generator_is_the_template_one_unless_an_endpoint_is_configured(settings):
    settings.LOCKLINE_LLM_URL = ""
    assert isinstance(generator_get(), TemplateGenerator)
    settings.LOCKLINE_LLM_URL = "http://127.0.0.1:9/v1"
    assert isinstance(generator_get(), ChatCompletionsGenerator)
