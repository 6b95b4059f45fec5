"""What a step's ``data`` holds of a LangChain call: bounded, JSON-ready, cheap to build.

A step is limited to ``MAX_STEP_DATA_BYTES`` (64 KiB) of JSON and a callback must never fail
the agent, so every text is cut to ``TEXT_LIMIT`` characters and a prompt keeps its last
``PROMPT_MESSAGES`` messages: the bounds keep the worst case (16 messages of 2 KiB, an
output and an input of 8 KiB) well under the limit without serializing twice to check.
Messages are read through their fields (``type``, ``content``, ``tool_calls``), which is
cheaper than ``model_dump`` and all that a reader of the step needs; optional fields from
the instance's ``__dict__``, since ``getattr(message, "tool_calls", None)`` on a message
without that field goes through pydantic's ``__getattr__`` and an exception (~4 us here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

TEXT_LIMIT: Final = 8_192
MESSAGE_TEXT_LIMIT: Final = 2_048
PROMPT_MESSAGES: Final = 16
MAX_TOOL_CALLS: Final = 16
MARK: Final = "...[truncated]"


def text(value: Any, limit: int = TEXT_LIMIT) -> str:
    """``value`` as a string of at most ``limit`` characters."""
    rendered = value if type(value) is str else str(value)
    if len(rendered) <= limit:
        return rendered
    return rendered[: limit - len(MARK)] + MARK


def _fields(value: Any) -> dict[str, Any]:
    fields = getattr(value, "__dict__", None)
    return fields if isinstance(fields, dict) else {}


def message(value: Any) -> dict[str, Any]:
    """A LangChain message as ``{"role", "content"[, "tool_calls", "tool_call_id"]}``."""
    fields = _fields(value)
    role = fields.get("type")
    if role is None:
        return {"role": "unknown", "content": text(value, MESSAGE_TEXT_LIMIT)}
    shown: dict[str, Any] = {"role": role, "content": content(fields.get("content"))}
    calls = fields.get("tool_calls")
    if calls:
        shown["tool_calls"] = tool_calls(calls)
    call_id = fields.get("tool_call_id")
    if call_id:
        shown["tool_call_id"] = text(call_id, 128)
    return shown


def content(value: Any) -> Any:
    """A message's content: its text, or its parts' texts (multimodal parts by type)."""
    if type(value) is str:
        return text(value, MESSAGE_TEXT_LIMIT)
    if isinstance(value, list):
        parts = [
            part.get("text", f"[{part.get('type', 'part')}]") if isinstance(part, dict) else part
            for part in value
        ]
        return text(" ".join(str(part) for part in parts), MESSAGE_TEXT_LIMIT)
    return text(value, MESSAGE_TEXT_LIMIT)


def tool_calls(calls: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": text(call.get("name"), 200),
            "args": text(_compact(call.get("args")), MESSAGE_TEXT_LIMIT),
            "id": text(call.get("id"), 128),
        }
        for call in calls[:MAX_TOOL_CALLS]
        if isinstance(call, Mapping)
    ]


def prompt(batches: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """The last messages of a chat model call (its first batch: an agent sends one)."""
    if not batches:
        return []
    return [message(item) for item in batches[0][-PROMPT_MESSAGES:]]


def llm_result(response: Any) -> dict[str, Any]:
    """Output, tool calls, token usage and model name of an ``LLMResult``."""
    found: dict[str, Any] = {}
    result = _fields(response)
    generations = result.get("generations") or []
    first = _fields(generations[0][0]) if generations and generations[0] else None
    if first is not None:
        reply = _fields(first.get("message"))
        if reply:
            found["output"] = content(reply.get("content"))
            calls = reply.get("tool_calls")
            if calls:
                found["tool_calls"] = tool_calls(calls)
            usage = reply.get("usage_metadata")
            if usage:
                found["usage"] = usage_of(usage)
            model = (reply.get("response_metadata") or {}).get("model_name")
            if model:
                found["model"] = text(model, 200)
        else:
            found["output"] = text(first.get("text", ""))
    llm_output = result.get("llm_output") or {}
    if "usage" not in found and isinstance(llm_output.get("token_usage"), Mapping):
        found["usage"] = usage_of(llm_output["token_usage"])
    if "model" not in found and llm_output.get("model_name"):
        found["model"] = text(llm_output["model_name"], 200)
    return found


def usage_of(usage: Mapping[str, Any]) -> dict[str, int]:
    """Token counts: LangChain's ``usage_metadata`` names, or OpenAI's ``token_usage``."""
    names = (
        ("input_tokens", ("input_tokens", "prompt_tokens")),
        ("output_tokens", ("output_tokens", "completion_tokens")),
        ("total_tokens", ("total_tokens",)),
    )
    counts: dict[str, int] = {}
    for name, sources in names:
        for source in sources:
            value = usage.get(source)
            if isinstance(value, int):
                counts[name] = value
                break
    return counts


def model_name(
    serialized: Mapping[str, Any] | None,
    kwargs: Mapping[str, Any],
    metadata: Mapping[str, Any] | None,
) -> str:
    """The model a call asked for: its invocation parameters, LangSmith's metadata, or the
    model class."""
    params = kwargs.get("invocation_params") or {}
    for key in ("model", "model_name", "model_id", "deployment_name"):
        if params.get(key):
            return text(params[key], 200)
    if metadata and metadata.get("ls_model_name"):
        return text(metadata["ls_model_name"], 200)
    if params.get("_type"):
        return text(params["_type"], 200)
    if serialized and serialized.get("id"):
        return text(serialized["id"][-1], 200)
    return "unknown"


def call_name(serialized: Mapping[str, Any] | None, kwargs: Mapping[str, Any], default: str) -> str:
    """The name LangChain gives the call (``name=``), else the serialized class name."""
    name = kwargs.get("name")
    if not name and serialized:
        name = serialized.get("name") or (serialized.get("id") or [None])[-1]
    return text(name or default, 200)


def tool_output(output: Any) -> Any:
    """A tool's result: a ``ToolMessage``'s content, or the value as text."""
    fields = _fields(output)
    if "content" in fields and "type" in fields:
        return content(fields["content"])
    return text(output)


def error_of(error: BaseException) -> dict[str, str]:
    return {"type": type(error).__name__, "message": text(error, 2_048)}


def _compact(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{key}={item!r}" for key, item in value.items())
    return str(value)
