// A self-contained reader of /openapi.json (Swagger UI would load from a CDN).
"use strict";

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function schemaName(schema) {
  if (!schema) return "";
  if (schema.$ref) return schema.$ref.split("/").pop();
  return schema.type || JSON.stringify(schema);
}

async function main() {
  const spec = await (await fetch("/openapi.json")).json();
  const root = document.getElementById("docs");
  root.replaceChildren(element("p", spec.info.summary || ""));
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const section = element("section");
      section.append(element("h2", method.toUpperCase() + " " + path));
      section.append(element("p", op.summary || ""));
      if (op.description) section.append(element("p", op.description));
      const rows = (op.parameters || []).map((p) => [p.in + " " + p.name, schemaName(p.schema), p.description || ""]);
      const body = op.requestBody && op.requestBody.content["application/json"];
      if (body) rows.push(["body", schemaName(body.schema), "application/json"]);
      for (const [code, answer] of Object.entries(op.responses || {})) {
        const content = answer.content || {};
        const type = Object.keys(content)[0] || "";
        rows.push(["→ " + code, schemaName((content[type] || {}).schema), answer.description + " " + type]);
      }
      const table = element("table");
      for (const row of rows) {
        const tr = element("tr");
        for (const cell of row) tr.append(element("td", cell));
        table.append(tr);
      }
      section.append(table);
      root.append(section);
    }
  }
  root.append(element("h2", "Schemas"));
  for (const [name, schema] of Object.entries(spec.components.schemas)) {
    root.append(element("h3", name), element("pre", JSON.stringify(schema, null, 2)));
  }
}

main().catch((error) => {
  document.getElementById("docs").textContent = "Could not read /openapi.json: " + error.message;
});
