import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Stop } from "../main";
import { API, ApiError, get } from "../api";
import { alertTable } from "../alerts-ui";
import { openAlerts, spacecraftNames } from "../data";
import { h, replaceChildren, toast } from "../dom";
import { healthBadge, label, num, timeElement, utc } from "../format";
import { followWidth, plotWidth } from "../plots";
import { spacecraftHead } from "./tabs";
import type { BucketSeries, LatestValue, LimitSet, Parameter, SpacecraftStatus } from "../types";

// New samples come over the telemetry WebSocket (the service takes the session cookie on a
// socket opened from its own origin); the latest values are polled only while it is down.
const LIVE_MS = 2000;
const RECONNECT_MS = 5000;

type LiveMessage =
  | { type: "subscribed" }
  | { type: "samples"; parameter: string; samples: { time: string; value: number | null }[] }
  | { type: "alarm"; parameter: string }
  | { type: "error"; detail: string };
const WINDOW_S = 3600;
const BUCKETS = 360;

interface Plot {
  parameter: string;
  unit: string | null;
  chart: uPlot;
  xs: number[];
  ys: (number | null)[];
  last: number;
}

async function history(id: string, parameter: string): Promise<[number[], (number | null)[]]> {
  const stop = new Date();
  const start = new Date(stop.getTime() - WINDOW_S * 1000);
  const series = await get<BucketSeries>(
    `/spacecraft/${id}/telemetry/${encodeURIComponent(parameter)}/samples?start=${start.toISOString()}&stop=${stop.toISOString()}&count=${BUCKETS}`,
  );
  const xs: number[] = [];
  const ys: (number | null)[] = [];
  for (const bucket of series.buckets) {
    xs.push((new Date(bucket.start).getTime() + new Date(bucket.stop).getTime()) / 2000);
    ys.push(bucket.avg);
  }
  return [xs, ys];
}

async function limitsLine(id: string, parameter: string): Promise<(Node | string)[]> {
  try {
    const limits = await get<LimitSet>(`/spacecraft/${id}/telemetry/${encodeURIComponent(parameter)}/limits`);
    const ranges = Object.entries(limits.ranges)
      .map(([level, bounds]) => `${label(level)} ${num(bounds["low"] ?? null)} … ${num(bounds["high"] ?? null)}`)
      .join(" · ");
    const level = limits.state?.level ?? null;
    const state = !limits.enabled
      ? h("span", { class: "badge health-none" }, "Limits disabled")
      : level
        ? h("span", { class: `badge ${level === "critical" ? "health-bad" : "health-warn"}` }, `Out of limits: ${label(level)}`)
        : h("span", { class: "badge health-ok" }, "Within limits");
    return [state, ` Limits: ${ranges || "none"}`];
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return ["No limits set for this parameter."];
    throw error;
  }
}

export async function spacecraftPage(main: HTMLElement, id: string): Promise<Stop> {
  const [status, parameters, names] = await Promise.all([
    get<SpacecraftStatus>(`/spacecraft/${id}/status`),
    get<Parameter[]>(`/spacecraft/${id}/telemetry/parameters`),
    spacecraftNames(),
  ]);
  const statusBox = h("dl", { class: "facts" });
  const headBadge = h("span", { id: "health-badge" });
  const paramBody = h("tbody", {});
  const plotBox = h("div", { class: "plot-box", id: "telemetry-plot" });
  const plotTitle = h("h2", { id: "plot-title" }, "Telemetry");
  const limitsBox = h("p", { class: "limits", id: "limits" });
  const alarms = h("div", { id: "spacecraft-alerts" });
  replaceChildren(
    main,
    ...spacecraftHead(id, status.name, "telemetry", headBadge),
    h(
      "div",
      { class: "two-col" },
      h("section", { class: "panel", "aria-labelledby": "status-title" }, h("h2", { id: "status-title" }, "Status"), statusBox),
      h(
        "section",
        { class: "panel", "aria-labelledby": "params-title" },
        h("h2", { id: "params-title" }, "Telemetry parameters"),
        parameters.length === 0
          ? h("p", { class: "muted" }, "No telemetry parameters defined.")
          : h(
              "div",
              { class: "table-wrap" },
              h(
                "table",
                { class: "grid compact", id: "parameter-table" },
                h("caption", { class: "visually-hidden" }, "Latest value of each parameter"),
                h("thead", {}, h("tr", {}, ...["Parameter", "Latest value", "Time", "Plot"].map((n) => h("th", { scope: "col" }, n)))),
                paramBody,
              ),
            ),
      ),
    ),
    h("section", { class: "panel", "aria-labelledby": "plot-title" }, plotTitle, limitsBox, plotBox),
    h("section", { class: "panel", "aria-labelledby": "alarms-title" }, h("h2", { id: "alarms-title" }, "Open alarms"), alarms),
  );
  document.title = `${status.name} · AstroShield console`;

  function drawStatus(s: SpacecraftStatus): void {
    replaceChildren(headBadge, healthBadge(s.health));
    replaceChildren(
      statusBox,
      h("dt", {}, "Mode"),
      h("dd", {}, label(s.mode)),
      h("dt", {}, "Health"),
      h("dd", {}, healthBadge(s.health), h("span", { class: "muted" }, ` from ${label(s.health_source)}`)),
      h("dt", {}, "Summary"),
      h("dd", {}, s.health_summary ?? "—"),
      h("dt", {}, "Last contact"),
      h("dd", {}, timeElement(s.last_contact_at), ` (${label(s.contact)})`),
      h("dt", {}, "Orbit epoch"),
      h("dd", {}, utc(s.orbit_epoch)),
    );
  }
  drawStatus(status);

  let plot: Plot | null = null;
  const valueCells = new Map<string, { value: HTMLElement; time: HTMLElement }>();

  async function choose(parameter: Parameter): Promise<void> {
    plot?.chart.destroy();
    plot = null;
    plotTitle.textContent = `Telemetry: ${parameter.name}${parameter.unit ? ` (${parameter.unit})` : ""} — last hour`;
    replaceChildren(limitsBox, await limitsLine(id, parameter.name));
    const [xs, ys] = await history(id, parameter.name);
    const chart = new uPlot(
      {
        width: plotWidth(plotBox),
        height: 260,
        series: [
          { label: "UTC", value: (_u, t) => (t === null ? "—" : new Date(t * 1000).toISOString().slice(11, 19)) },
          { label: parameter.name, stroke: "#60a5fa", width: 2, spanGaps: false, points: { show: true, size: 6 } },
        ],
        axes: [
          {
            stroke: "#cbd5e1",
            grid: { stroke: "#334155" },
            ticks: { stroke: "#334155" },
            // Operators read 24-hour UTC.
            values: (_u, ticks) => ticks.map((t) => new Date(t * 1000).toISOString().slice(11, 16)),
          },
          { stroke: "#cbd5e1", grid: { stroke: "#334155" }, ticks: { stroke: "#334155" }, label: parameter.unit ?? "" },
        ],
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      },
      [xs, ys],
      plotBox,
    );
    plot = { parameter: parameter.name, unit: parameter.unit, chart, xs, ys, last: 0 };
    for (const button of paramBody.querySelectorAll("button")) {
      button.setAttribute("aria-pressed", String(button.dataset.parameter === parameter.name));
    }
  }

  let newest = "";
  const units = new Map(parameters.map((p) => [p.name, p.unit]));

  function showValue(parameter: string, time: string | null, value: number | null): void {
    const cells = valueCells.get(parameter);
    if (cells) {
      cells.value.textContent = num(value, units.get(parameter) ?? null);
      replaceChildren(cells.time, timeElement(time));
    }
    if (plot && parameter === plot.parameter && time && value !== null) {
      const t = new Date(time).getTime() / 1000;
      if (t > plot.last && t > (plot.xs[plot.xs.length - 1] ?? 0)) {
        plot.xs.push(t);
        plot.ys.push(value);
        plot.chart.setData([plot.xs, plot.ys]);
      }
      plot.last = Math.max(plot.last, t);
    }
  }

  function changed(): void {
    // New samples can raise or clear alarms and change the health: show it now.
    refreshAlarms().catch(() => undefined);
    get<SpacecraftStatus>(`/spacecraft/${id}/status`).then(drawStatus).catch(() => undefined);
    if (plot) limitsLine(id, plot.parameter).then((line) => replaceChildren(limitsBox, line)).catch(() => undefined);
  }

  async function live(): Promise<void> {
    const latest = await get<LatestValue[]>(`/spacecraft/${id}/telemetry/latest`);
    const newestNow = latest.reduce((t, v) => (v.time && v.time > t ? v.time : t), "");
    if (newest && newestNow > newest) changed();
    newest = newestNow;
    for (const value of latest) showValue(value.parameter, value.time, value.value);
  }

  let socket: WebSocket | null = null;
  let streaming = false;
  let stopped = false;

  function connect(): void {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}${API}/spacecraft/${id}/telemetry/live`);
    socket.addEventListener("message", (event: MessageEvent) => {
      const message = JSON.parse(String(event.data)) as LiveMessage;
      if (message.type === "subscribed") {
        streaming = true;
        // Samples stored between the first read and the subscription.
        live().catch(() => undefined);
      } else if (message.type === "samples") {
        for (const sample of message.samples) showValue(message.parameter, sample.time, sample.value);
        const last = message.samples[message.samples.length - 1];
        if (last && last.time > newest) newest = last.time;
        changed();
      } else if (message.type === "alarm") {
        changed();
      }
    });
    socket.addEventListener("close", () => {
      streaming = false;
      socket = null;
      if (!stopped) window.setTimeout(() => stopped || connect(), RECONNECT_MS);
    });
  }

  for (const parameter of parameters) {
    const value = h("td", { class: "num", "data-value": parameter.name }, "—");
    const time = h("td", {}, "—");
    valueCells.set(parameter.name, { value, time });
    const show = h("button", { type: "button", class: "secondary small", "data-parameter": parameter.name, "aria-pressed": "false" }, "Plot");
    show.addEventListener("click", () => void choose(parameter).catch((e: unknown) => toast(String(e), "error")));
    paramBody.append(
      h("tr", {}, h("th", { scope: "row" }, parameter.name, parameter.description ? h("span", { class: "muted" }, ` ${parameter.description}`) : null), value, time, h("td", {}, show)),
    );
  }

  async function refreshAlarms(): Promise<void> {
    const list = await openAlerts(`&spacecraft_id=${id}`);
    replaceChildren(alarms, alertTable(list, names, refreshAlarms, "Open alarms of this spacecraft"));
  }

  await Promise.all([refreshAlarms(), live()]);
  if (parameters[0]) await choose(parameters[0]);
  else plotBox.append(h("p", { class: "muted" }, "Nothing to plot."));
  connect();
  const unfollow = followWidth(plotBox, () => plot?.chart ?? null, 260);
  let ticks = 0;
  const timer = window.setInterval(() => {
    ticks += 1;
    if (!streaming) live().catch(() => undefined);
    if (ticks % 5 === 0) {
      get<SpacecraftStatus>(`/spacecraft/${id}/status`).then(drawStatus).catch(() => undefined);
      if (!alarms.contains(document.activeElement)) refreshAlarms().catch(() => undefined);
    }
  }, LIVE_MS);
  return () => {
    stopped = true;
    unfollow();
    window.clearInterval(timer);
    socket?.close();
    plot?.chart.destroy();
  };
}
