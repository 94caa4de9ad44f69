"""About: what KDPhys is, how it works (a picture), intended use and limits, and the full model card as a file.

Short on purpose: the model card (weights/MODEL_CARD.md) is the full record and is offered for download.
"""

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

#: How it works, as a picture (Graphviz, drawn by the browser).
PIPELINE_DOT = """digraph {
  bgcolor="transparent"; nodesep=0.35; ranksep=0.45;
  node [shape=box, style="rounded,filled", fillcolor="#f4f6f8", color="#8a949e", fontname="Helvetica", fontsize=14,
        margin="0.2,0.1"];
  edge [color="#8a949e"];
  video [label="Video of a face\n(file or webcam)"];
  face [label="Find the face\nand its skin"];
  colour [label="Skin colour,\nframe by frame"];
  pulse [label="Pulse waveform\n(POS or a neural network)"];
  windows [label="Heart rate of each\n10 s window"];
  check [label="Quality check:\nis the pulse clear?", fillcolor="#fdf2e9"];
  result [label="Heart rate with its range,\nor no reading and why", fillcolor="#eafaf1"];
  { rank=same; video -> face -> colour -> pulse; }
  { rank=same; windows -> check -> result; }
  pulse -> windows [constraint=false];
  video -> windows [style=invis];
}"""


def main() -> None:
    st.title("About KDPhys")
    st.error("**Not a medical device.** KDPhys is a demonstration and research tool. Do not use it to "
             "diagnose, monitor or treat anyone; use a certified pulse oximeter or ECG for that.")
    st.subheader("What it is")
    st.markdown("KDPhys measures the heart rate from a video of a face. With every heartbeat, blood flow changes "
                "the colour of the skin very slightly; a camera can see it even when a person cannot. A large "
                "neural network (the teacher) was trained to find this pulse, and its knowledge was passed on "
                "(distilled) to a small one (the student) that runs on a laptop in real time. The student reads "
                "uploads; where it gives no reading, a classical method without training reads instead (PBV, POS "
                "or the green channel, whichever shows the clearest pulse). Live runs the classical POS.")
    st.subheader("How it works")
    st.graphviz_chart(PIPELINE_DOT)
    st.markdown("The quality check refuses a window whose pulse is not clear: then the app says **no reading** "
                "and why, rather than guess. The heart rate of a video is the middle value of the windows it "
                "read, with their range and the share of the video they cover.")
    st.subheader("Intended use and limits")
    st.markdown(
        "- For demonstrations, teaching and research on measuring vital signs with a camera.\n"
        "- Needs a still, front-facing, evenly lit face for 10 s or more. Movement, talking, flickering light, "
        "heavy make-up, and very dark or bright video make the reading worse or impossible.\n"
        "- Heart rate only: no oxygen level, blood pressure or heart-rhythm disorders.\n"
        "- Tested on synthetic faces, on eight people of a research dataset and on one webcam video, each with a "
        "finger pulse oximeter. It may do worse "
        "for other people, skin tones, cameras and light.\n"
        "- Your data stays here: videos are analysed in memory and webcam frames are never stored.")
    st.subheader("Models")
    ui.model_status_lines(model_status())
    if MODEL_CARD.is_file():
        st.markdown("The model card is the full record of how the networks were trained and tested "
                    "(file `weights/MODEL_CARD.md`).")
        st.download_button("Download the full model card", MODEL_CARD.read_bytes(), file_name="KDPhys_MODEL_CARD.md",
                           mime="text/markdown", key="model_card", on_click="ignore")
    else:
        st.info("The model card (weights/MODEL_CARD.md) is written when the models are trained; it is not "
                "there yet.")


main()
