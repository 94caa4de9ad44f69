"""The app as a clinician and a demo audience read it (issue 16): each test would have caught one of the
problems found by trying the app as a new user. AppTest on the real sample clip; nothing is mocked.

1 beat marks vs the headline · 2 quality in words · 3 downloads carry no refused number · 4 live text and
STOP · 5 the compare table · 6 attention over the face · 7 a short About · 8 the reference panel ·
10 method caption, timings and the trend of a short clip. (9, the /analyze URL and the toolbar, is
checked in the browser: tests/test_browser.py.)
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from kdphys import paths
from kdphys.pipeline.upload import analyze_video
from kdphys.explain.attention_view import colour_scale, heat_over_view, layer_label
from kdphys.pipeline.engine import EngineSettings
from kdphys.explain import (compare_with_reference, count_beats, hr_text, model_status, on_video_clock,
                            quality_explanation, sample_reference_started_before_s)
from kdphys.pipeline.live import LiveSession
from kdphys.signal.quality import HrReading, QualitySettings
from kdphys.data.reference import load_reference_csv, sample_clip_reference
from kdphys.io.video import iter_frames
from kdphys.io.write import write_video
from tests.test_app import MAIN, RUN_TIMEOUT_S, assert_no_traceback, page_text, shown_hr
from webapp import plots, ui

pytestmark = pytest.mark.slow        # `pytest -m "not slow"` leaves this module out

NEURAL_READY = model_status()["teacher"].available and model_status()["student"].available


@pytest.fixture(scope="module")
def sample_page() -> AppTest:
    """The Analyse page after "Try the sample clip" with POS chosen (the default is the student)."""
    at = AppTest.from_file(MAIN, default_timeout=RUN_TIMEOUT_S)
    at.run()
    at.selectbox(key="analyze_method").set_value("pos").run()
    at.button(key="sample_button").click().run()
    assert_no_traceback(at)
    return at


@pytest.fixture(scope="module")
def sample_result():
    return analyze_video(paths.SAMPLE_VIDEO, method="pos")


def _chart(at: AppTest, index: int) -> dict:
    """The index-th plotly figure of the page as JSON."""
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def _values(array) -> np.ndarray:
    """A plotly trace's x or y: a list, or {"dtype", "bdata"} (base64) as plotly writes numpy arrays."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
    return np.asarray(array, dtype=float)


# ------------------------------------------------------------------------------ 1: beats vs headline
def test_beat_marks_count_to_the_headline(sample_page, sample_result):
    """A person counting the marks gets the headline's heart rate (within 3 bpm), and the plot marks
    exactly the beats it says, all inside the parts of the video that were read."""
    count = count_beats(sample_result.snapshot)
    hr = shown_hr(sample_page)
    assert count is not None and hr is not None
    assert abs(count.hr_bpm - hr) <= 3.0, (count, hr)
    wave = _chart(sample_page, 0)
    marks = next(d for d in wave["data"] if d.get("name", "").endswith("beats"))
    t_marks = _values(marks["x"])
    assert marks["name"] == f"{count.n_beats} beats" and t_marks.size == count.n_beats
    # a person counts: (marks - 1) intervals between the first and the last mark of each read stretch
    snap = sample_result.snapshot
    read = snap.readings.read_mask(len(snap.t_s))
    idx = np.searchsorted(snap.t_s, t_marks - 1e-6)
    assert read[np.clip(idx, 0, read.size - 1)].all()
    assert f"{count.n_beats} beats marked" in page_text(sample_page)


# --------------------------------------------------------------------------- 2: quality in words
def test_quality_is_explained_next_to_the_number(sample_page, sample_result):
    text = page_text(sample_page)
    reading = sample_result.snapshot.reading
    assert quality_explanation(reading) in text
    assert re.search(r"Pulse strength: -?[0-9.]+ dB against the noise", text)
    assert "Beat regularity:" in text and "SQI 0." not in text
    badge = next(m.value for m in sample_page.markdown if "Heart rate:" in m.value)
    assert ":red-badge" not in badge and f"quality: {reading.quality}" in badge


@pytest.mark.parametrize("confidence,sqi,coverage,level,words", [
    (0.9, 0.6, 0.8, "good", "Good: the heart rate was followed with certainty"),
    (0.9, 0.6, 0.4, "fair", "only 40% of the video (good needs 50% or more)"),
    (0.5, 0.55, 0.8, "fair", "could not be followed with full certainty"),
    (0.9, 0.3, 0.8, "fair", "faint or irregular"),
    (0.9, 0.8, 0.2, "poor", "clear in only 20% of the video"),
])
def test_quality_explanation_follows_the_gate(confidence, sqi, coverage, level, words):
    reading = HrReading(70.0, None, level, 1.0, sqi, 70.0, 1.0, confidence=confidence, coverage=coverage,
                        hr_range_bpm=(69.0, 71.0))
    text = quality_explanation(reading, QualitySettings())
    assert text.startswith(level.capitalize()) and words in text, text


# ---------------------------------------------------------------- 3: downloads of a refused recording
def test_downloads_carry_no_number_when_the_recording_is_refused():
    """Windows were read but too few for the recording (coverage under min_coverage): the page says "no
    reading" and none of its downloads holds a heart rate."""
    result = analyze_video(paths.SAMPLE_VIDEO, settings=EngineSettings(quality=QualitySettings(min_coverage=0.9)))
    assert result.snapshot.reading.hr_bpm is None and result.snapshot.readings.accepted.any()
    files = {d.file_name.rsplit("_", 1)[-1]: d for d in ui.analysis_downloads(result, "clip.avi")}
    rows = list(csv.DictReader(io.StringIO(files["windows.csv"].data.decode())))
    assert len(rows) == len(result.snapshot.readings.windows)
    assert all(r["hr_bpm"] == "" and r["accepted"] == "0" and r["reason"].startswith("no reading") for r in rows)
    samples = list(csv.DictReader(io.StringIO(files["waveform.csv"].data.decode())))
    assert samples and all(s["read"] == "0" and s["beat"] == "0" for s in samples)
    summary = json.loads(files["kdphys.json"].data)
    assert summary["hr_bpm"] is None and all(w["hr_bpm"] is None for w in summary["windows"])
    pdf = files["report.pdf"].data()
    assert pdf.startswith(b"%PDF")


def test_page_offers_the_four_downloads(sample_page):
    labels = [b.label for b in sample_page.get("download_button")]
    assert labels == ["Report (PDF, one page)", "Heart rate per window (CSV)", "Pulse waveform (CSV)",
                      "Summary (JSON)"], labels


# ------------------------------------------------------------------------------ 4: the live page
def test_live_page_text_promises_what_happens():
    at = AppTest.from_file(MAIN, default_timeout=RUN_TIMEOUT_S)
    at.run()
    at.switch_page("pages/live.py").run()
    assert_no_traceback(at)
    text = page_text(at)
    assert "after a few seconds" not in text and "about 5 s" not in text
    assert "from 10 s to a minute" in text and "at least 5 s" in text


def test_live_panel_after_stop_shows_stopped_not_tracking():
    """A session that received frames, with the camera no longer playing (STOP): "stopped", no frame rate,
    no "face tracked"; the next START gets a fresh session."""
    session = LiveSession(method="pos")
    for frame in iter_frames(paths.SAMPLE_VIDEO):
        if frame.t_s > 2.0:
            break
        session.process(frame.rgb, frame.t_s)
    assert session.frames_in > 0
    at = AppTest.from_file(MAIN, default_timeout=RUN_TIMEOUT_S)
    at.run()
    at.session_state["live_session"] = session
    at.switch_page("pages/live.py").run()
    assert_no_traceback(at)
    text = page_text(at)
    assert "the camera is stopped" in text and "camera stopped" in text, text
    assert "face tracked" not in text and "Frames per second" not in text
    assert at.session_state["live_session"] is not session and at.session_state["live_session"].frames_in == 0
    at.run()                                     # later reruns keep saying so
    assert "the camera is stopped" in page_text(at)


# ------------------------------------------------------------------------- 5 and 6: the compare page
@pytest.fixture(scope="module")
def compare_page() -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=180)
    at.run()
    at.switch_page("pages/compare.py").run()
    at.button(key="compare_sample").click().run()
    assert_no_traceback(at)
    return at


def test_compare_table_cells_are_short(compare_page):
    table = compare_page.table[0].value
    assert list(table.columns) == ["method", "heart rate", "quality", "read in", "time per frame", "parameters"]
    for cell in table["heart rate"]:
        assert re.fullmatch(r"[0-9]+ bpm|no reading", cell), cell
    assert all(len(str(c)) <= 40 for col in table.columns for c in table[col])


@pytest.mark.skipif(not NEURAL_READY, reason="attention maps need the trained teacher and student")
def test_compare_attention_is_over_the_face_in_plain_words(compare_page):
    at = compare_page
    text = page_text(at)
    assert "Where the models look" in text and "b5" not in text and "s2" not in text
    layer = next(r for r in at.radio if r.key == "compare_att_layer")
    assert list(layer.options) == [layer_label(i) for i in range(3)] == ["early layer", "middle layer", "late layer"]
    slider = next(s for s in at.select_slider if s.key == "compare_att_time")
    assert slider.label == "Time in the video" and all(o.endswith(" s") for o in slider.options)
    assert re.search(r"Agreement at [0-9]+ s [01]\.[0-9]{2}", text) and "1 = exactly the same places" in text
    results = at.session_state["compare"]["results"]     # a network that did not read the video: its map is no proof
    unread = [n for n in ("teacher", "student") if results[n].snapshot.reading.hr_bpm is None]
    said = [c for c in (str(e.value) for e in at.caption) if "gave no reading of this video" in c]
    assert len(said) == (1 if unread else 0), said
    if unread:
        assert said[0].startswith("The " + " and the ".join(unread) + " gave no reading") and "looked, not" in said[0]
    captions = [c for el in at.get("image") for c in el.captions]
    assert any(c.startswith("Teacher, middle layer, ") and c.endswith(" s") for c in captions), captions
    assert "colour scale of the heat" in captions
    before = [c for el in at.get("image") for c in el.captions]
    slider.set_value(0).run()                      # the time moves; the pictures follow
    assert_no_traceback(at)
    after = [c for el in at.get("image") for c in el.captions]
    assert f"Teacher, middle layer, {slider.options[0]}" in after and after != before, (before, after)
    assert_no_traceback(at)


def test_heat_is_drawn_inside_the_crop_box_only():
    view = np.full((256, 256, 3), 128, np.uint8)
    box = np.array([64, 64, 192, 192], np.float32)
    att_map = np.zeros((18, 18), np.float32)
    att_map[9, 9] = 1.0
    out = heat_over_view(view, box, att_map)
    changed = np.any(out != view, axis=2)
    assert changed[64:192, 64:192].any()
    outside = changed.copy()
    outside[63:193, 63:193] = False
    assert not outside.any()
    assert colour_scale().shape[2] == 3


def test_analyze_with_pos_shows_no_attention_maps(sample_page):
    text = page_text(sample_page)
    assert "Attention maps belong to the neural networks" in text
    assert not sample_page.get("image")


# --------------------------------------------------------------------------------- 7: About
def test_about_page_is_short_and_plain():
    at = AppTest.from_file(MAIN, default_timeout=RUN_TIMEOUT_S)
    at.run()
    at.switch_page("pages/about.py").run()
    assert_no_traceback(at)
    text = re.sub(r":material/[a-z_]+:", "", page_text(at))      # icons are no words
    assert "Not a medical device" in text and "Intended use and limits" in text
    assert len(text) < 3000, len(text)
    assert not re.search(r"issue|python -m|```|\b[a-z]+_[a-z_]+\b|\.py\b", text), text
    assert at.get("graphviz_chart"), "how it works, as a picture"
    if (paths.WEIGHTS_DIR / "MODEL_CARD.md").is_file():
        assert [b.label for b in at.get("download_button")] == ["Download the full model card"]


# ------------------------------------------------------------------------ 8: the reference panel
def test_reference_offset_defaults_to_the_video_start_and_limits_are_numbers(sample_page):
    at = sample_page
    offset = next(n for n in at.number_input if n.key.startswith("ref_start_"))
    assert abs(offset.value) < 1.0, offset.value                     # seconds, not a Unix time
    assert "Unix" not in offset.label and "seconds before the video" in offset.label
    text = page_text(at)
    cmp = compare_with_reference(analyze_video(paths.SAMPLE_VIDEO).snapshot, sample_clip_reference())
    assert f"Limits of agreement (95%): {cmp.loa_low_bpm:+.1f} to {cmp.loa_high_bpm:+.1f} bpm" in text
    assert f"Over the {len(cmp.t_s)} windows of 10 s that the video read" in text
    # the oximeter ends before the clip's last window: a window the video read but cannot be compared is named
    assert (f"{cmp.read_without_reference} more window" in text) == (cmp.read_without_reference > 0), text


def test_sample_button_and_uploaded_oximeter_give_the_same_numbers(sample_page):
    """The sample's oximeter through the button and the same BVP.csv uploaded: one code path, one result."""
    at = sample_page

    def numbers() -> dict:
        return {m.label: m.value for m in at.metric if m.label != "Agreement"}

    by_button = numbers()
    at.file_uploader(key="ref_upload").upload("BVP.csv", paths.SAMPLE_BVP_CSV.read_bytes(), "text/csv")
    at.run()
    assert_no_traceback(at)
    assert numbers() == by_button and "Mean absolute difference" in by_button, (numbers(), by_button)
    # the same through kdphys: the button's reference is the CSV on the video's clock
    a = on_video_clock(load_reference_csv(paths.SAMPLE_BVP_CSV), sample_reference_started_before_s())
    assert np.allclose(a.t_s, sample_clip_reference().t_s)
    at.file_uploader(key="ref_upload").clear()
    at.run()


def test_bland_altman_labels_sit_inside_the_plot():
    fig = plots.bland_altman(np.array([70.0, 71.0, 69.0]), np.array([70.5, 70.0, 69.5]), 0.2, -1.5, 1.5)
    labels = [a for a in fig.layout.annotations]
    assert len(labels) == 3 and all(a.xref == "x domain" and 0 <= a.x <= 1 and a.xanchor == "left" for a in labels)
    assert {a.text for a in labels} == {"upper limit +1.5 bpm", "bias +0.2 bpm", "lower limit -1.5 bpm"}


# -------------------------------------------------- 10: method caption, timings, short clip's trend
def test_method_caption_has_no_paths_and_a_short_clip_no_one_dot_trend(tmp_path):
    frames = (f.rgb for f in iter_frames(paths.SAMPLE_VIDEO) if f.t_s < 10.5)
    clip = tmp_path / "ten.mp4"
    write_video(clip, frames, fps=30.0, codec="h264")
    at = AppTest.from_file(MAIN, default_timeout=RUN_TIMEOUT_S)
    at.run()
    text = page_text(at)
    assert not re.search(r"weights/|\.onnx|\.pt\b|model card", text), text
    at.file_uploader(key="video_upload").upload("ten.mp4", clip.read_bytes(), "video/mp4")
    at.run()
    assert_no_traceback(at)
    text = page_text(at)
    titles = [_chart(at, i)["layout"]["title"]["text"] for i in range(len(at.get("plotly_chart")))]
    assert "Heart rate over time" not in titles, titles
    if shown_hr(at) is not None:
        assert "Not drawn: only 1 of the 10 s windows was read" in text, text
    assert hr_text(HrReading(69.72, None, "fair", 1.0, 0.5, 70.0, 1.0)) == "70 bpm"
