"""CF Embedding Explorer: placeholder entry point until the dashboard lands (issue 3)."""
import streamlit as st

st.set_page_config(page_title="CF Embedding Explorer", layout="wide")
st.title("CF Embedding Explorer")
st.info("The dashboard is coming. Meanwhile the engine works from the command line: "
        "`python -m collab_core train`, `python -m collab_core neighbours --run ID --item 'Star Wars (1977)'`.")
