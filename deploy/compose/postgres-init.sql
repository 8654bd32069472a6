-- One database per PostgreSQL node (the prefecture and its counties).
CREATE DATABASE node_6323 OWNER tiersync;
CREATE DATABASE node_632301 OWNER tiersync;
CREATE DATABASE node_632322 OWNER tiersync;
CREATE DATABASE node_632323 OWNER tiersync;
CREATE DATABASE node_632324 OWNER tiersync;
