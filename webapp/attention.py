"""The "where the models look" panel: the teacher's and the student's attention over the face, shared by
the Analyse and the Teacher vs student pages. Maps and pictures come from kdphys.explain and
kdphys.explain.attention_view; this module only lays them out.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from kdphys.explain.attention_view import animation_gif, colour_scale, layer_label, over_face
from kdphys.explain import attention_comparison
from webapp import ui

AGREEMENT_HELP = ("Agreement: how much the two maps put their weight on the same places (cosine similarity: "
                  "1 = exactly the same places, 0 = none in common).")
PICTURE_PX = 300


def without_own_reading(snapshots: dict) -> list[str]:
    """The networks among ``snapshots`` ({"teacher" | "student": kdphys.pipeline.engine.Snapshot}) that gave no
    reading of the video themselves: none at all, or one that their upload fallback read."""
    return [name for name in ("teacher", "student") if name in snapshots and
            (snapshots[name].reading.hr_bpm is None or snapshots[name].signal_source != name)]


def attention_panel(keyframes, state: dict, key: str, unread: Sequence[str] = ()) -> None:
    """Teacher and student maps over the face at a chosen time and layer, the colour scale, the agreement
    and an animation over the whole video.

    Args:
        keyframes: AnalysisResult.keyframes (kdphys.pipeline.engine.Keyframe list).
        state: a dict in session_state that keeps the computed maps and animations for this result.
        key: prefix of the widget keys (one panel per page).
        unread: the networks ("teacher", "student") that gave no reading of this video: the caption says
            that their maps show where they looked, not where they found a pulse.
    """
    st.subheader("Where the models look")
    st.caption("The heat over the face shows which parts each network relies on to find the pulse (red: most, "
               "blue: little). Both see only the skin inside the white box.")
    if unread:
        names = " and the ".join(n for n in ("teacher", "student") if n in unread)
        maps, it = ("its map shows", "it") if len(unread) == 1 else ("their maps show", "they")
        st.caption(f"The {names} gave no reading of this video: {maps} where {it} looked, not where {it} found "
                   "a pulse.")
    if len(keyframes) < 2:
        st.info("No attention maps: too few face pictures (the video is too short or shows no face).")
        return
    with ui.guarded("Attention maps unavailable"):
        if "attention" not in state:
            with st.spinner("Running the teacher and the student on the face pictures …"):
                state["attention"] = attention_comparison(keyframes)
        att = state["attention"]
        pairs = list(range(len(att.layer_pairs)))
        pair = st.radio("Layer of the networks", pairs, index=pairs.index(att.display_index % len(pairs)),
                        format_func=layer_label, horizontal=True, key=f"{key}_layer",
                        help="Early layers see edges and texture, late layers whole regions.")
        frames = list(range(len(att.t_s)))
        k = st.select_slider("Time in the video", options=frames, value=frames[len(frames) // 2],
                             format_func=lambda i: f"{att.t_s[i]:.0f} s", key=f"{key}_time")
        label = layer_label(pair)
        c1, c2, c3 = st.columns([1, 1, 1])
        c1.image(over_face(att, k, "teacher", pair), caption=f"Teacher, {label}, {att.t_s[k]:.0f} s", width=PICTURE_PX)
        c2.image(over_face(att, k, "student", pair), caption=f"Student, {label}, {att.t_s[k]:.0f} s", width=PICTURE_PX)
        with c3:
            st.metric(f"Agreement at {att.t_s[k]:.0f} s", f"{att.agreement[pair][k]:.2f}",
                      help=AGREEMENT_HELP)
            st.caption(f"Over the whole video: {att.mean_agreement(pair):.2f} on average. {AGREEMENT_HELP}")
            st.image(colour_scale(), caption="colour scale of the heat", width=PICTURE_PX)
        _animation(att, pair, state)


def _animation(att, pair: int, state: dict) -> None:
    """The teacher and the student over the face, keyframe after keyframe (a looping GIF, made once)."""
    gifs = state.setdefault("attention_gif", {})
    if pair not in gifs:
        gifs[pair] = animation_gif(att, pair)
    st.markdown("**Over the whole video** (one picture per second of video, looping)")
    st.image(gifs[pair], width=2 * 224 + 8)
