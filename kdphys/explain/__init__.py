"""What the app needs to explain a result, one job per module: teacher and student attention over the face
(``attention``, drawn by ``attention_view``), a comparison with a contact reference (``comparison``), the
result in plain words (``words``), a one-page PDF report (``report``). Which methods exist and which is the
default: ``kdphys.methods.registry`` (re-exported here with the rest, for the app)."""

from kdphys.explain.attention import AttentionComparison, attention_comparison, cosine_per_frame  # noqa: F401
from kdphys.explain.comparison import (ReferenceComparison, compare_with_reference, on_video_clock,  # noqa: F401
                                       sample_reference_started_before_s)
from kdphys.explain.words import (BeatCount, count_beats, coverage_text, hr_text, quality_explanation,  # noqa: F401
                                  signal_details)
from kdphys.methods.registry import (APP_METHODS, METHOD_LABELS, METHOD_NOTES, STUDENT_DEFAULT,  # noqa: F401
                                     WEIGHT_FILES, ModelStatus, available_methods, default_method, method_label,
                                     model_status, parameter_count, upload_fallback, weights_version)
