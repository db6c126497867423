"""Progressive delivery (ADR 0013): a deploy sends a growing share of new sessions to the
new release, judges it against the release serving the rest at each step, then promotes
it or gives the traffic back."""
