"""Streamlit-only helpers of the dashboard: every st.cache_* decorator, session-state keys and URL sync,
chart builders, and the background job registry. Pages import from here and from collab_core; collab_core
never imports from here."""
