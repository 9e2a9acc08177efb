// Views composed from several public endpoints (the API has no fleet summary endpoint).
import { all } from "./api";
import { tierRank } from "./format";
import type { Alert, Conjunction, Spacecraft, Tier } from "./types";

export interface FleetRow {
  spacecraft: Spacecraft;
  openAlarms: number;
  unacknowledged: number;
  worstTier: Tier | null;
}

export async function openAlerts(query = ""): Promise<Alert[]> {
  const [firing, acknowledged] = await Promise.all([
    all<Alert>(`/alerts?status=firing${query}`),
    all<Alert>(`/alerts?status=acknowledged${query}`),
  ]);
  return [...firing, ...acknowledged];
}

export async function fleet(): Promise<FleetRow[]> {
  const [spacecraft, alerts, conjunctions] = await Promise.all([
    all<Spacecraft>("/spacecraft"),
    openAlerts(),
    all<Conjunction>("/conjunctions?state=open"),
  ]);
  const rows = new Map<string, FleetRow>(
    spacecraft.map((s) => [s.id, { spacecraft: s, openAlarms: 0, unacknowledged: 0, worstTier: null }]),
  );
  for (const alert of alerts) {
    const row = alert.spacecraft_id ? rows.get(alert.spacecraft_id) : undefined;
    if (!row) continue;
    row.openAlarms += 1;
    if (alert.status === "firing") row.unacknowledged += 1;
  }
  for (const event of conjunctions) {
    const row = rows.get(event.spacecraft_id);
    if (row && tierRank(event.tier) < tierRank(row.worstTier)) row.worstTier = event.tier;
  }
  return [...rows.values()];
}

export async function spacecraftNames(): Promise<Map<string, string>> {
  const spacecraft = await all<Spacecraft>("/spacecraft");
  return new Map(spacecraft.map((s) => [s.id, s.name]));
}
