"""Reading the Plotly charts drawn in a page, in the browser: JavaScript functions for Playwright's `page.evaluate`
and `page.wait_for_function`, shared by the browser tests (tests/e2e) and the scale benchmark (bench.scale).

Only Plotly's public figure and the DOM a person sees are read, never Plotly's private `_fullData` / `_fullLayout`:
each chart element (`.js-plotly-plot`) carries the figure it draws as `data` and `layout`, and Plotly writes the axis
ranges it computed (autorange, equal-scale constraints) back into `layout`; the plot area is the drag rectangle
that covers it (`.nsewdrag`, one per subplot). Numbers arrive as plotly.py sends numpy arrays: base64 typed arrays
({dtype, bdata, shape}), decoded here as Plotly itself does.

A trace is found by name in the first chart of the page that has one of that name.
"""
from __future__ import annotations

_LIB = r"""
  const charts = () => Array.from(document.querySelectorAll('.js-plotly-plot'));
  const TYPES = {f8: Float64Array, f4: Float32Array, i4: Int32Array, u4: Uint32Array, i2: Int16Array,
    u2: Uint16Array, i1: Int8Array, u1: Uint8Array, u1c: Uint8ClampedArray, float64: Float64Array,
    float32: Float32Array, int32: Int32Array, uint32: Uint32Array, int16: Int16Array, uint16: Uint16Array,
    int8: Int8Array, uint8: Uint8Array, uint8c: Uint8ClampedArray};
  const encoded = (a) => a != null && typeof a === 'object' && typeof a.dtype === 'string' && 'bdata' in a;
  // the values of a data array: a list, or a base64 typed array (rows of a 2D one)
  const values = (a) => {
    if (a == null) return [];
    if (!encoded(a)) return Array.from(a);
    const bytes = Uint8Array.from(atob(a.bdata), c => c.charCodeAt(0));
    const flat = Array.from(new TYPES[a.dtype](bytes.buffer));
    const shape = a.shape === undefined ? [flat.length] : String(a.shape).split(',').map(Number);
    if (shape.length < 2) return flat;
    return Array.from({length: shape[0]}, (_, i) => flat.slice(i * shape[1], (i + 1) * shape[1]));
  };
  // how many values, without decoding them
  const count = (a) => {
    if (a == null) return 0;
    if (!encoded(a)) return a.length;
    if (a.shape !== undefined) return Number(String(a.shape).split(',')[0]);
    const padding = (a.bdata.match(/=*$/) || [''])[0].length;
    return (a.bdata.length * 3 / 4 - padding) / TYPES[a.dtype].BYTES_PER_ELEMENT;
  };
  // [chart, trace] for the first chart of the page with a trace named `name`, or [null, null]
  const find = (name) => {
    for (const gd of charts()) {
      const trace = (gd.data || []).find(t => t.name === name);
      if (trace) return [gd, trace];
    }
    return [null, null];
  };
"""

# the customdata of trace `name` (a list), or null when no chart has such a trace
CUSTOMDATA = "(name) => {" + _LIB + """
  const [, trace] = find(name);
  return trace ? values(trace.customdata) : null;
}"""

# scrolls the chart with trace `name` to the middle of the window; whether there is one
SCROLL_TO = "(name) => {" + _LIB + """
  const [gd] = find(name);
  if (gd) gd.scrollIntoView({block: 'center'});
  return gd !== null;
}"""

# the window position of the first point of trace `name` (linear axes) and its customdata: {x, y, item}, or null
POINT = "(name) => {" + _LIB + """
  const [gd, trace] = find(name);
  if (!gd) return null;
  const xid = trace.xaxis || 'x', yid = trace.yaxis || 'y';
  const xr = gd.layout['xaxis' + xid.slice(1)].range, yr = gd.layout['yaxis' + yid.slice(1)].range;
  const area = gd.querySelector(`.nsewdrag[data-subplot="${xid}${yid}"]`).getBoundingClientRect();
  const x = values(trace.x)[0], y = values(trace.y)[0];
  return {x: area.left + area.width * (x - xr[0]) / (xr[1] - xr[0]),
          y: area.bottom - area.height * (y - yr[0]) / (yr[1] - yr[0]), item: values(trace.customdata)[0]};
}"""

# every trace of the page's first chart as {name, customdata}; [] before it is drawn
TRACES = "() => {" + _LIB + """
  const gd = charts()[0];
  return gd ? (gd.data || []).map(t => ({name: t.name, customdata: values(t.customdata)})) : [];
}"""

# the number of points of every trace of the page's first chart once Plotly has drawn its frame (0 before)
POINTS_DRAWN = "() => {" + _LIB + """
  const gd = charts()[0];
  if (!gd || !gd.data || !gd.querySelector('.main-svg')) return 0;
  return gd.data.reduce((n, t) => n + count(t.x), 0);
}"""

# the items the page's first chart shows once Plotly has drawn its frame (0 before): collab_app.density's layer of
# every item counts the items of its cells (a heatmap: the sum of its grid; 3D's "every item" dots, one per occupied
# cell: the sum of their customdata), any other trace its points
ITEMS_SHOWN = "() => {" + _LIB + """
  const gd = charts()[0];
  if (!gd || !gd.data || !gd.querySelector('.main-svg')) return 0;
  const sum = (a) => values(a).flat().reduce((n, v) => n + (Number.isFinite(v) ? v : 0), 0);
  return gd.data.reduce((n, t) => n + (t.type === 'heatmap' ? sum(t.z)
    : t.type === 'scatter3d' && t.name === 'every item' ? sum(t.customdata) : count(t.x)), 0);
}"""

# whether every chart of the page has drawn its frame (true on a page without charts)
CHARTS_DRAWN = "() => {" + _LIB + """
  return charts().every(gd => gd.data && gd.querySelector('.main-svg'));
}"""

# every point of trace `name` as {x: [...], y: [...], customdata: [...]}, or null when no chart has such a trace
TRACE_POINTS = "(name) => {" + _LIB + """
  const [, trace] = find(name);
  return trace ? {x: values(trace.x), y: values(trace.y), customdata: values(trace.customdata)} : null;
}"""

# the window positions ([[x, y], ...]) of data coordinates `pairs` in the chart with trace `name` (linear axes)
TO_WINDOW = "([name, pairs]) => {" + _LIB + """
  const [gd, trace] = find(name);
  const xid = trace.xaxis || 'x', yid = trace.yaxis || 'y';
  const xr = gd.layout['xaxis' + xid.slice(1)].range, yr = gd.layout['yaxis' + yid.slice(1)].range;
  const area = gd.querySelector(`.nsewdrag[data-subplot="${xid}${yid}"]`).getBoundingClientRect();
  return pairs.map(([x, y]) => [area.left + area.width * (x - xr[0]) / (xr[1] - xr[0]),
                                area.bottom - area.height * (y - yr[0]) / (yr[1] - yr[0])]);
}"""
