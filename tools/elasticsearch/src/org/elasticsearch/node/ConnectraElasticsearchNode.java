package org.elasticsearch.node;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.ClasspathPluginsService;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.transport.netty4.Netty4Plugin;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * One Elasticsearch 8 node in this JVM, from the Maven Central jars alone (no distribution):
 * loopback only, single-node discovery, data kept under the home directory across restarts.
 *
 * Usage: ConnectraElasticsearchNode HOME HTTP_PORT TRANSPORT_PORT CLUSTER_NAME
 *
 * It sits in org.elasticsearch.node because NodeConstruction and NodeServiceProvider, the
 * hooks that let a node take its plugins from the class path, are package-private.
 */
public final class ConnectraElasticsearchNode {

    private static final List<Class<? extends Plugin>> PLUGINS = List.of(Netty4Plugin.class, RestRootPlugin.class);

    private ConnectraElasticsearchNode() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: ConnectraElasticsearchNode HOME HTTP_PORT TRANSPORT_PORT CLUSTER_NAME");
            System.exit(2);
        }
        long started = System.nanoTime();
        Path home = Path.of(args[0]).toAbsolutePath();
        for (String dir : List.of("config", "data", "logs", "modules", "plugins")) {
            Files.createDirectories(home.resolve(dir));
        }
        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", args[3])
            .put("node.name", args[3])
            .put("network.host", "127.0.0.1")
            .put("http.port", args[1])
            .put("transport.port", args[2])
            .put("discovery.type", "single-node")
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();
        Path log4j = home.resolve("config").resolve("log4j2.properties");
        if (Files.exists(log4j) == false) {
            Files.writeString(log4j, String.join("\n",
                "status = error",
                "appender.console.type = Console",
                "appender.console.name = console",
                "appender.console.layout.type = PatternLayout",
                "appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] %m%n",
                "rootLogger.level = info",
                "rootLogger.appenderRef.console.ref = console",
                ""));
        }
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings, java.util.Map.of(), home.resolve("config"), () -> args[3]);
        LogConfigurator.configureESLogging();
        LogConfigurator.setNodeName(args[3]);
        LogConfigurator.configure(environment, true);
        NodeServiceProvider provider = new NodeServiceProvider() {
            @Override
            org.elasticsearch.plugins.PluginsService newPluginService(Environment env, Settings s) {
                return new ClasspathPluginsService(s, env, PLUGINS);
            }
        };
        Node node = new Node(NodeConstruction.prepareConstruction(environment, provider, true));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            }
            stopped.countDown();
        }, "connectra-es-shutdown"));
        node.start();
        System.out.printf("[connectra-es] node %s started in %.1f s, http 127.0.0.1:%s%n",
            args[3], (System.nanoTime() - started) / 1e9, args[1]);
        stopped.await();
    }
}
