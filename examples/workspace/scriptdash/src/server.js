// Serves the dashboard page and a JSON summary on $PORT.
const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");
const { formatCount } = require("./lib/format");

const page = fs.readFileSync(path.join(__dirname, "..", "public", "index.html"));

http
  .createServer((req, res) => {
    if (req.url === "/summary") {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ prescriptions: formatCount(1234) }));
      return;
    }
    res.setHeader("content-type", "text/html");
    res.end(page);
  })
  .listen(Number(process.env.PORT || 3000));
