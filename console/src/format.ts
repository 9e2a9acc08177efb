import { h } from "./dom";
import type { Tier } from "./types";

const TIER_ORDER: Record<Tier, number> = { red: 0, yellow: 1, green: 2 };

export function tierRank(tier: Tier | null): number {
  return tier ? TIER_ORDER[tier] : 3;
}

/** Colour is never the only cue: each badge says its tier in words and has a shape. */
export function tierBadge(tier: Tier | null): HTMLElement {
  if (!tier) return h("span", { class: "muted" }, "none");
  const symbol = { red: "▲", yellow: "◆", green: "●" }[tier];
  return h(
    "span",
    { class: `badge tier-${tier}` },
    h("span", { "aria-hidden": "true" }, symbol),
    ` ${tier.toUpperCase()}`,
  );
}

const HEALTH_CLASS: Record<string, string> = {
  nominal: "ok",
  degraded: "warn",
  critical: "bad",
  unknown: "none",
};

export function healthBadge(health: string): HTMLElement {
  return h("span", { class: `badge health-${HEALTH_CLASS[health] ?? "none"}` }, label(health));
}

export function severityBadge(severity: string | null): HTMLElement {
  const kind = severity === "critical" ? "bad" : severity === "warning" ? "warn" : "none";
  return h("span", { class: `badge health-${kind}` }, severity ? label(severity) : "—");
}

export function label(value: string): string {
  const text = value.replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function utc(iso: string | null): string {
  if (!iso) return "—";
  return new Date(iso).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

export function timeElement(iso: string | null): HTMLElement {
  if (!iso) return h("span", { class: "muted" }, "never");
  return h("time", { datetime: iso, title: utc(iso) }, relative(iso));
}

export function relative(iso: string, now = Date.now()): string {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const magnitude = Math.abs(seconds);
  // A few seconds either way is clock skew between this browser and the service.
  if (magnitude < 5) return "just now";
  const [value, unit] =
    magnitude < 90
      ? [magnitude, "s"]
      : magnitude < 5400
        ? [Math.round(magnitude / 60), "min"]
        : magnitude < 172800
          ? [Math.round(magnitude / 3600), "h"]
          : [Math.round(magnitude / 86400), "d"];
  return seconds >= 0 ? `in ${value} ${unit}` : `${value} ${unit} ago`;
}

export function pc(value: number | null): string {
  return value === null ? "—" : value.toExponential(2);
}

export function metres(value: number | null): string {
  if (value === null) return "—";
  return value >= 10000 ? `${(value / 1000).toFixed(1)} km` : `${value.toFixed(0)} m`;
}

export function num(value: number | null, unit?: string | null): string {
  if (value === null) return "—";
  // Four significant digits at most, no trailing zeros (28.1, 0.0123, 1523).
  const shown = Math.abs(value) >= 1000 ? String(Math.round(value)) : String(Number(value.toPrecision(4)));
  return unit ? `${shown} ${unit}` : shown;
}
