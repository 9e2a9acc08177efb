"""Evaluation through the OpenFeature SDK client, against the in-process provider:
organisation override > platform value > environment default, per organisation."""

from __future__ import annotations

import uuid

from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from astroshield.config import Settings
from astroshield.features.catalogue import FLAGS, Flag
from astroshield.features.service import FeatureFlags

ORG_A = uuid.UUID("00000000-0000-0000-0000-00000000000a")
ORG_B = uuid.UUID("00000000-0000-0000-0000-00000000000b")


def _flags(**settings: bool) -> FeatureFlags:
    base = Settings(profile="test", **settings)  # type: ignore[arg-type]
    return FeatureFlags(lambda: base)


def test_every_flag_has_a_settings_default() -> None:
    assert set(FLAGS) == set(Flag)
    for spec in FLAGS.values():
        assert isinstance(getattr(Settings(profile="test"), spec.setting), bool)


def test_defaults_come_from_the_settings() -> None:
    flags = _flags(feature_ccdm_intent=False)
    intent = flags.evaluate(Flag.CCDM_INTENT, ORG_A)
    assert (intent.enabled, intent.source) == (False, "default")
    assert flags.evaluate(Flag.LIVE_STREAMS, ORG_A).enabled is True
    assert flags.evaluate(Flag.ML_ENDPOINTS, ORG_A).enabled is False  # off unless chosen


def test_organisation_override_beats_platform_value_beats_default() -> None:
    flags = _flags()
    flags.store.replace_all({Flag.LIVE_STREAMS: False}, {ORG_A: {Flag.LIVE_STREAMS: True}})
    a, b = flags.evaluate(Flag.LIVE_STREAMS, ORG_A), flags.evaluate(Flag.LIVE_STREAMS, ORG_B)
    assert (a.enabled, a.source) == (True, "organisation")
    assert (b.enabled, b.source) == (False, "platform")
    platform = flags.evaluate(Flag.LIVE_STREAMS, None)
    assert (platform.enabled, platform.source) == (False, "platform")


def test_a_platform_only_flag_ignores_organisation_values() -> None:
    flags = _flags()
    assert not FLAGS[Flag.SCREENING_JOBS].organisational
    # As if a row had been written behind the API's back: it still cannot act.
    flags.store.replace_all({Flag.SCREENING_JOBS: False}, {ORG_A: {Flag.SCREENING_JOBS: True}})
    a = flags.evaluate(Flag.SCREENING_JOBS, ORG_A)
    assert (a.enabled, a.source) == (False, "platform")


def test_the_sdk_client_reports_reason_variant_and_errors() -> None:
    flags = _flags()
    flags.store.replace_all({}, {ORG_A: {Flag.CCDM_INTENT: False}})
    client = api.get_client(flags.domain)
    context = EvaluationContext(targeting_key=str(ORG_A))
    details = client.get_boolean_details("ccdm-intent", True, context)
    assert (details.value, details.variant, details.reason) == (
        False,
        "organisation",
        Reason.TARGETING_MATCH,
    )
    default = client.get_boolean_details("ccdm-intent", False, EvaluationContext())
    assert (default.value, default.reason) == (True, Reason.DEFAULT)
    unknown = client.get_boolean_details("no-such-flag", True, context)
    assert (unknown.value, unknown.error_code) == (True, ErrorCode.FLAG_NOT_FOUND)
    wrong_type = client.get_string_details("ccdm-intent", "x", context)
    assert (wrong_type.value, wrong_type.error_code) == ("x", ErrorCode.TYPE_MISMATCH)
    not_a_uuid = client.get_boolean_details("ccdm-intent", False, EvaluationContext("org-a"))
    assert (not_a_uuid.value, not_a_uuid.variant) == (True, "default")


def test_two_apps_in_one_process_keep_their_own_flags() -> None:
    one, two = _flags(), _flags()
    one.store.replace_all({Flag.CCDM_INTENT: False}, {})
    assert one.evaluate(Flag.CCDM_INTENT, ORG_A).enabled is False
    assert two.evaluate(Flag.CCDM_INTENT, ORG_A).enabled is True
