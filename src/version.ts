/** The exporter's version, reported by --version and crd_state_metrics_build_info. */
export const VERSION = "0.1.0";
