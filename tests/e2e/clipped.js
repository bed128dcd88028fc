() => {
  // Everything a person should read whole: widget labels, button texts, the values shown in inputs and selects,
  // segmented controls. Returns those cut off: overflowing their box, ellipsed, or a word broken across lines.
  const found = [];
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const describe = (el) => (el.getAttribute("aria-label") || el.value || el.innerText || "").trim().slice(0, 80);
  const overflows = (el) => el.scrollWidth > el.clientWidth + 1;
  const brokenWord = (el) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const re = /\S+/g; let m;
      while ((m = re.exec(node.textContent))) {
        const range = document.createRange();
        range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
        const lines = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (lines.size > 1) return m[0];
      }
    }
    return null;
  };
  const check = (kind, el) => {
    if (!visible(el)) return;
    const word = brokenWord(el);
    if (overflows(el) || word) found.push({kind, text: describe(el), word});
  };
  document.querySelectorAll('[data-testid="stWidgetLabel"] [data-testid="stMarkdownContainer"]').forEach(e => check("label", e));
  document.querySelectorAll('button [data-testid="stMarkdownContainer"], [data-testid="stPageLink"] [data-testid="stMarkdownContainer"]').forEach(e => check("button", e));
  document.querySelectorAll('[role="radiogroup"]').forEach(e => check("choices", e));
  document.querySelectorAll('input[type="text"], input[type="number"], input[role="combobox"]').forEach(e => {
    if (visible(e) && overflows(e)) found.push({kind: "value", text: describe(e) + " = " + e.value});
  });
  document.querySelectorAll('[data-testid="stMetricValue"], [data-testid="stMetricLabel"]').forEach(e => check("metric", e));
  return found;
}
