// Thousands separators for the dashboard's counters.
function formatCount(n) {
  return n.toLocaleString("en-US");
}

module.exports = { formatCount };
