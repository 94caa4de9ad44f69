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
pages = [
    st.Page(_PAGES_DIR / "analyze.py", title="Analyze a video", icon=":material/movie:", url_path="analyze", default=True),
    st.Page(_PAGES_DIR / "live.py", title="Live webcam", icon=":material/videocam:", url_path="live"),
    st.Page(_PAGES_DIR / "compare.py", title="Teacher vs student", icon=":material/compare:", url_path="compare"),
    st.Page(_PAGES_DIR / "about.py", title="About", icon=":material/info:", url_path="about"),
]
st.navigation(pages).run()
