// Test-only entry: Segment's @segment/analytics-next (a devDependency of console/) as one script for a
// plain page, exposing window.AnalyticsBrowser. Bundled by tests/browser/test_analytics_next.py.
import { AnalyticsBrowser } from '@segment/analytics-next'

window.AnalyticsBrowser = AnalyticsBrowser
