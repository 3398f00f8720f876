#!/usr/bin/env node
// The `rekey` command (see launch.js for how it picks dist/ or the sources).
import { URL } from "node:url";
import { launch } from "./launch.js";

await launch(new URL("../", import.meta.url), "cli/bin", ["../core"]);
