"""About: the model card (weights/MODEL_CARD.md when present), the method in brief, limits, intended use."""

from __future__ import annotations


import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

if PagesManager.uses_pages_directory:
    # Streamlit runs this file as a v1 "pages/" page, without webapp/main.py, when it is the first URL a
    # fresh server sees (and in AppTest). Run main.py instead: its st.navigation takes over and runs
    # this page again, with the app's navigation and imports set up.
    import runpy
    from pathlib import Path

    runpy.run_path(str(Path(__file__).resolve().parent.parent / "main.py"), run_name="__main__")
    st.stop()

from kdphys import paths
from kdphys.explain import model_status
from webapp import ui

MODEL_CARD = paths.WEIGHTS_DIR / "MODEL_CARD.md"


def main() -> None:
    st.title("About KDPhys")
    st.error("**Not a medical device.** KDPhys is a demonstration and research tool. Do not use it to "
             "diagnose, monitor or treat anyone; use a certified pulse oximeter or ECG for that.")
    st.subheader("The method")
    st.markdown(
        "- A camera sees tiny colour changes of facial skin with every heartbeat (remote "
        "photoplethysmography, rPPG).\n"
        "- The face is tracked with MediaPipe landmarks; forehead and cheeks give the signal; the neural "
        "models see a 36×36 crop of that skin only.\n"
        "- A PhysNet-style **3D-CNN teacher** is distilled into a causal **2D-CNN student** (25 k "
        "parameters) that reads 4-second windows of frames (128): through *attention-guided 3D→2D "
        "distillation* the student learns where the teacher looks (paired feature-map attention).\n"
        "- The pulse waveform is detrended and band-passed (0.7–3.5 Hz, 42–210 bpm); the heart rate is the "
        "spectral peak, cross-checked against beat intervals and against harmonics.\n"
        "- A quality gate (SNR, autocorrelation SQI, face present, liveness) shows **no reading** instead "
        "of a guess.\n"
        "- Classical **POS** (Wang et al. 2017) runs without any training and is the default: on real "
        "video it is more reliable than the student so far (model card).")
    st.subheader("Limits")
    st.markdown(
        "- Needs a still, frontal, evenly lit face for 10 s or more; motion, talking, flicker, strong make-up "
        "and very dark or overexposed video lower the quality or give no reading.\n"
        "- Heart rate only (beats per minute averaged over a window); no SpO₂, blood pressure or arrhythmia "
        "detection.\n"
        "- Accuracy was measured on synthetic face videos and on one real webcam clip with a finger "
        "pulse-oximeter reference (the shipped sample); the code reads the public rPPG datasets (UBFC-rPPG, "
        "PURE, MMPD) but has not been evaluated on them yet. It can be worse for people, cameras and lighting "
        "unlike those.")
    st.subheader("Intended use and data")
    st.markdown(
        "Demonstrations, teaching and research on camera-based vital signs. Videos are analysed in memory "
        "(or a private temporary file deleted at once) and live frames are never written to disk. The app "
        "listens on localhost unless configured otherwise.")
    st.subheader("Models")
    ui.model_status_lines(model_status())
    st.subheader("Model card")
    if MODEL_CARD.is_file():
        st.markdown(MODEL_CARD.read_text(encoding="utf-8"))
    else:
        st.info("The model card (weights/MODEL_CARD.md) is written when the models are trained; it is not "
                "there yet.")


main()
