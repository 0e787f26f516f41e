"""hostile-wrong-type: a `reply-classifier` that returns what its WIT types
do not allow, chosen by the reply's subject, so the host's tests can check
that the failure names the export, the Python exception and the WIT type
instead of a 30-line trace. Not an example to follow.
"""

import wit_world
from wit_world.imports import types


class WitWorld(wit_world.WitWorld):
    def describe(self) -> types.PluginInfo:
        return types.PluginInfo(
            name="hostile-wrong-type",
            version="0.1.0",
            description="Returns values of the wrong type on purpose.",
            needs=[],
        )

    def classify(self, reply: types.InboundReply) -> types.Classification:
        if reply.subject == "str-for-f32":
            # `confidence` is an f32.
            return types.Classification(label=types.ReplyLabel_Interested(), confidence="very", reason="sure")
        if reply.subject == "dict-for-record":
            return {"label": "interested", "confidence": 0.5, "reason": "a dict"}
        if reply.subject == "missing-field":
            return types.Classification(label=types.ReplyLabel_Interested(), confidence=0.5)
        return types.Classification(label=types.ReplyLabel_Unknown(), confidence=0.1, reason="well-formed")
