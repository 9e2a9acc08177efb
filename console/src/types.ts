// The shapes of the public API's answers this console reads (see /openapi.json).
export type Tier = "red" | "yellow" | "green";

export interface Me {
  id: string;
  email: string;
  name: string | null;
  role: string;
  organisation_id: string;
  is_platform_admin?: boolean;
}

export interface Spacecraft {
  id: string;
  name: string;
  catalog_number: string | null;
  cospar_id: string | null;
  mode: string;
  health: string;
  health_source: string;
  last_contact_at: string | null;
  contact: string;
}

export interface HealthReason {
  [key: string]: unknown;
}

export interface SpacecraftStatus {
  spacecraft_id: string;
  name: string;
  mode: string;
  health: string;
  health_source: string;
  health_reasons: HealthReason[];
  health_summary: string | null;
  last_contact_at: string | null;
  contact: string;
  orbit_epoch: string | null;
}

export interface Conjunction {
  id: string;
  spacecraft_id: string;
  primary_catalog_number: string;
  secondary_catalog_number: string;
  secondary_name: string | null;
  tca: string;
  miss_distance_m: number;
  relative_speed_m_s: number | null;
  pc: number | null;
  tier: Tier;
  tier_basis: string;
  state: string;
  source: string;
}

export interface ConjunctionDetail extends Conjunction {
  cdms: { id: string; message_id?: string; creation_date?: string; pc?: number | null }[];
}

export interface Alert {
  id: string;
  rule_id: string;
  labels: Record<string, string>;
  status: string;
  severity: string | null;
  value: number | null;
  fired_at: string | null;
  resolved_at: string | null;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
  ack_comment: string | null;
  shelved_until: string | null;
  updated_at: string;
  spacecraft_id: string | null;
  event_id: string | null;
  parameter: string | null;
}

export interface Parameter {
  name: string;
  type: string;
  unit: string | null;
  description: string | null;
}

export interface LatestValue {
  parameter: string;
  type: string;
  unit: string | null;
  time: string | null;
  value: number | null;
}

export interface BucketSeries {
  parameter: string;
  start: string;
  stop: string;
  buckets: { start: string; stop: string; count: number; avg: number | null }[];
}

export interface LimitSet {
  parameter: string;
  ranges: Record<string, Record<string, number | null>>;
  enabled: boolean;
  state: { consecutive_violations: number; level: string | null; last_time: string | null } | null;
}

export interface PassRead {
  station: string | null;
  rise: string;
  culmination: string;
  set: string;
  duration_s: number;
  max_elevation_deg: number;
  rise_azimuth_deg: number;
  set_azimuth_deg: number;
  starts_before_window: boolean;
  ends_after_window: boolean;
}

export interface Analysis {
  object: { catalog_number: string | null; object_name: string | null; element_epoch: string | null; element_set_id?: number | null };
  start: string;
  stop: string;
  mean_elements: { period_min: number; perigee_altitude_km: number; apogee_altitude_km: number; inclination_deg: number; regime: string };
  passes: PassRead[];
  ground_track: {
    epochs: string[];
    latitude_deg: (number | null)[];
    longitude_deg: (number | null)[];
    altitude_km: (number | null)[];
  };
  warnings: string[];
}

export interface ElementSetRead {
  id: number;
  catalog_number: string;
  epoch: string;
  mean_motion_rev_per_day: number;
  eccentricity: number;
  inclination_deg: number;
}

export interface ManeuverRead {
  epoch: string;
  delta_v_m_s: number;
  delta_a_km: number;
  delta_inclination_deg: number;
  kind: string;
  confidence: number;
  before_epoch: string;
  after_epoch: string;
}

export interface ManeuverList {
  catalog_number: string;
  start: string;
  stop: string;
  element_set_count: number;
  maneuvers: ManeuverRead[];
}

export interface NeighbourRead {
  catalog_number: string;
  plane_angle_deg: number;
  altitude_gap_km: number;
  longitude_separation_deg: number | null;
  trend: string;
  closing_rate_km_per_day: number | null;
  closest_approach_km: number | null;
  closest_approach_time: string | null;
  maneuvered_toward: boolean;
  maneuvered_away: boolean;
}

export interface ProximityRead {
  catalog_number: string;
  window_start: string;
  window_stop: string;
  neighbours: NeighbourRead[];
}

export interface IndicatorRead {
  name: string;
  value: number | null;
  threshold: number;
  unit: string;
  weight: number;
  contributes: boolean;
  source: string;
}

export interface IntentRead {
  catalog_number: string;
  category: string;
  score: number;
  explanation: string;
  evidence: IndicatorRead[];
  threat_alert: boolean;
}

export interface User {
  id: string;
  email: string | null;
  name: string | null;
  role: string;
  is_active: boolean;
  is_platform_admin: boolean;
  last_login_at: string | null;
}

export interface Feature {
  key: string;
  enabled: boolean;
  source: string;
  organisational: boolean;
  description: string;
}

export interface AuditEntry {
  id: number;
  occurred_at: string;
  actor: string | null;
  action: string;
  object_type: string | null;
  object_id: string | null;
}

export interface ChainVerification {
  ok: boolean;
  entries_checked: number;
  checkpoints_checked: number;
  findings: { description: string }[];
  notes: string[];
}
