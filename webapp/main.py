"""KDPhys web app entry point: ``streamlit run webapp/main.py``.

A thin layer over ``kdphys``: pages live in webapp/pages/, shared widgets in webapp/ui.py, plots in
webapp/plots.py. No signal processing or model code here.
"""

import sys
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parent.parent
if str(_REPO_ROOT) not in sys.path:  # `streamlit run webapp/main.py` puts only webapp/ on the path
    sys.path.insert(0, str(_REPO_ROOT))

import streamlit as st  # noqa: E402

st.set_page_config(page_title="KDPhys heart rate", page_icon="❤", layout="wide")

_PAGES_DIR = Path(__file__).resolve().parent / "pages"
ANALYZE = st.Page(_PAGES_DIR / "analyze.py", title="Analyse a video", icon=":material/movie:", url_path="home",
                  default=True)   # served at the root URL; "home" only keeps the name apart from /analyze


def _to_analyze() -> None:
    """/analyze: the default page lives at the root URL; this hidden page sends /analyze there (without it
    Streamlit answers /analyze with a "Page not found" dialog)."""
    st.switch_page(ANALYZE)


pages = [
    ANALYZE,
    st.Page(_PAGES_DIR / "live.py", title="Live webcam", icon=":material/videocam:", url_path="live"),
    st.Page(_PAGES_DIR / "compare.py", title="Teacher vs student", icon=":material/compare:", url_path="compare"),
    st.Page(_PAGES_DIR / "about.py", title="About", icon=":material/info:", url_path="about"),
    st.Page(_to_analyze, title="Analyse a video", url_path="analyze", visibility="hidden"),
]
st.navigation(pages).run()
