"""The decision record's published JSON Schema (resources/schemas/decision-record.schema.json).

The envelope (seal, rules, norm table, report files, purge marker) is written here; the inputs
and the outcome are the models' own JSON Schemas (`CaseBundle`, `Assessment`), so the schema
follows the models. `python -m bistand records schema --write` regenerates the shipped file; a
test fails while it is out of date.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import models_json_schema

from bistand.core.models import Assessment, CaseBundle
from bistand.records.record import SCHEMA_ID

SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
TIME = {"type": "string", "format": "date-time"}


def _envelope() -> dict[str, Any]:
    seal = {
        "type": "object", "additionalProperties": False,
        "required": ["sequence", "sealed_at", "previous_sha256", "sha256"],
        "description": "The link in the folder's chain. sha256 is the SHA-256 of the record's canonical JSON "
                       "(sorted keys, no whitespace, UTF-8) without seal.sha256; the file holds exactly that "
                       "canonical form and a newline.",
        "properties": {
            "sequence": {"type": "integer", "minimum": 1},
            "sealed_at": TIME,
            "previous_sha256": {**SHA256, "description": "seal.sha256 of the record before; 64 zeros for the first"},
            "sha256": SHA256,
        },
    }
    decision = {
        "type": "object", "additionalProperties": False,
        "required": ["schema", "kind", "application_id", "case_number", "period", "decided", "rules",
                     "norm_table", "inputs", "outcome", "report", "seal"],
        "properties": {
            "schema": {"const": SCHEMA_ID},
            "kind": {"const": "decision"},
            "application_id": {"type": "string", "pattern": "^ANS-[0-9]{4}-[0-9]{6}$"},
            "case_number": {"type": "string"},
            "period": {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"},
            "decided": {
                "type": "object", "additionalProperties": False, "required": ["mode", "runner", "assessed_at"],
                "properties": {"mode": {"enum": ["support", "automated"]}, "runner": {"type": "string"},
                               "assessed_at": TIME},
            },
            "rules": {
                "type": "object", "additionalProperties": False,
                "required": ["bistand_version", "rules_version", "rules_file", "rules_sha256"],
                "description": "The code's version, RULES_VERSION, and the SHA-256 of the RULES.md shipped with "
                               "the code (resources/rules/RULES.md).",
                "properties": {"bistand_version": {"type": "string"}, "rules_version": {"type": "string"},
                               "rules_file": {"type": "string"},
                               "rules_sha256": {"anyOf": [SHA256, {"const": ""}]}},
            },
            "norm_table": {
                "type": "object", "additionalProperties": False,
                "required": ["year", "sha256", "status", "derived_keys"],
                "description": "The riksnorm table file used (the figures are in outcome.norm_lines).",
                "properties": {"year": {"type": "integer"}, "sha256": SHA256,
                               "status": {"enum": ["official", "derived"]},
                               "derived_keys": {"type": "array", "items": {"type": "string"}}},
            },
            "inputs": {"$ref": "#/$defs/CaseBundle",
                       "description": "Everything read: the application and household, each register's answer, "
                                      "each attachment's SHA-256 and amount, the reference frame and its SHA-256, "
                                      "and when each system was read (sources)."},
            "outcome": {"$ref": "#/$defs/Assessment", "description": "The outcome with every calculation line."},
            "report": {
                "type": "object", "additionalProperties": False, "required": ["guideline", "files"],
                "properties": {
                    "guideline": {"type": "string"},
                    "files": {"type": "object", "additionalProperties": {
                        "type": "object", "additionalProperties": False, "required": ["path", "sha256"],
                        "properties": {"path": {"type": "string",
                                                "description": "relative to the records folder"},
                                       "sha256": SHA256}}},
                },
            },
            "seal": {"$ref": "#/$defs/Seal"},
        },
    }
    purge = {
        "type": "object", "additionalProperties": False, "required": ["schema", "kind", "purge", "seal"],
        "description": "Chained where records older than the retention were removed: the chain starts again "
                       "after purged_through_sequence, on last_purged_sha256.",
        "properties": {
            "schema": {"const": SCHEMA_ID},
            "kind": {"const": "purge"},
            "purge": {
                "type": "object", "additionalProperties": False,
                "required": ["purged_through_sequence", "last_purged_sha256", "count", "older_than_days", "cutoff"],
                "properties": {"purged_through_sequence": {"type": "integer", "minimum": 1},
                               "last_purged_sha256": SHA256, "count": {"type": "integer", "minimum": 1},
                               "older_than_days": {"type": "integer", "minimum": 1}, "cutoff": TIME},
            },
            "seal": {"$ref": "#/$defs/Seal"},
        },
    }
    return {"Seal": seal, "DecisionRecord": decision, "PurgeMarker": purge}


def record_schema() -> dict[str, Any]:
    """The whole schema: the envelope and the models' schemas in one `$defs`."""
    _, models = models_json_schema([(CaseBundle, "validation"), (Assessment, "validation")],
                                   ref_template="#/$defs/{model}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "bistand decision record",
        "description": "One file in output/records/: a sealed decision record or a purge marker (docs/records.md).",
        "oneOf": [{"$ref": "#/$defs/DecisionRecord"}, {"$ref": "#/$defs/PurgeMarker"}],
        "$defs": {**models["$defs"], **_envelope()},
    }


def schema_text() -> str:
    return json.dumps(record_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
