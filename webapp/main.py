"""KDPhys web app entry point: ``streamlit run webapp/main.py``.

A thin layer over ``kdphys``: pages live in webapp/pages/, shared widgets in webapp/ui.py, plots in
webapp/plots.py. No signal processing or model code here.
"""

import streamlit as st

st.set_page_config(page_title="KDPhys heart rate", page_icon="❤", layout="wide")
st.title("KDPhys — camera heart rate")
st.info("The app pages are being built (issue 4). Use `python -m kdphys analyze VIDEO` meanwhile.")
