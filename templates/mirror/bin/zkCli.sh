#!/bin/sh
# The ZooKeeper command-line client, for the lab's rebuilt 3.4.13 release.
# Usage: zkCli.sh [-server host:port] [command args...]
ZOOBINDIR=$(cd "$(dirname "$0")" && pwd)
ZOOKEEPER_PREFIX=$(dirname "$ZOOBINDIR")
CLASSPATH="$ZOOKEEPER_PREFIX/conf"
for jar in "$ZOOKEEPER_PREFIX"/zookeeper-*.jar "$ZOOKEEPER_PREFIX"/lib/*.jar; do
  CLASSPATH="$CLASSPATH:$jar"
done
exec "${JAVA:-java}" "-Dzookeeper.log.dir=${ZOO_LOG_DIR:-.}" \
  "-Dzookeeper.root.logger=${ZOO_LOG4J_PROP:-WARN,CONSOLE}" \
  -cp "$CLASSPATH" org.apache.zookeeper.ZooKeeperMain "$@"
