// A three-node OpenSearch cluster in one JVM (the codelibs runner that tools/services.sh uses
// for its single node), whose nodes a test can stop and start one at a time through stdin.
//
//   java -Xmx3g -cp 'tools/opensearch/target/dependency/*' tests/reliability/ClusterControl.java \
//       BASE_PATH BASE_HTTP_PORT CLUSTER_NAME NODES BASE_TRANSPORT_PORT ACK_FILE
//
// Node i (1-based) serves HTTP on BASE_HTTP_PORT + i and transport on BASE_TRANSPORT_PORT + i;
// discovery knows exactly these nodes, so the cluster never meets another one on the machine.
// Commands on stdin, one a line, each acknowledged by a line appended to ACK_FILE (stdout is
// no good for it: the runner routes System.out through each node's log configuration):
//   (at start) -> "ready"
//   stop N     -> "stopped N"   (node N closed, as when its process ends after a clean stop)
//   start N    -> "started N"
// End of stdin closes every node and removes the data. A test instrument, not part of Connectra.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.codelibs.opensearch.runner.OpenSearchRunner;

public class ClusterControl {
    public static void main(String[] args) throws Exception {
        String basePath = args[0];
        int baseHttpPort = Integer.parseInt(args[1]);
        String clusterName = args[2];
        int nodes = Integer.parseInt(args[3]);
        int baseTransportPort = Integer.parseInt(args[4]);
        Path acks = Path.of(args[5]);
        List<String> seeds = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int i = 1; i <= nodes; i++) {
            seeds.add("127.0.0.1:" + (baseTransportPort + i));
            names.add("Node " + i);
        }
        OpenSearchRunner runner = new OpenSearchRunner();
        runner.onBuild((number, settings) -> {
            settings.put("transport.port", String.valueOf(baseTransportPort + number));
            settings.putList("discovery.seed_hosts", seeds);
            settings.putList("cluster.initial_cluster_manager_nodes", names);
            settings.put("network.host", "127.0.0.1");
            settings.put("discovery.initial_state_timeout", "1s");  // start all, then elect
        }).build("-basePath", basePath, "-numOfNode", String.valueOf(nodes), "-baseHttpPort",
                String.valueOf(baseHttpPort), "-clusterName", clusterName, "-printOnFailure");
        ack(acks, "ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String line;
        while ((line = in.readLine()) != null) {
            String[] parts = line.trim().split("\\s+");
            if (parts.length != 2) {
                continue;
            }
            int node = Integer.parseInt(parts[1]);
            if (parts[0].equals("stop")) {
                runner.getNode(node - 1).close();
                ack(acks, "stopped " + node);
            } else if (parts[0].equals("start")) {
                runner.startNode(node - 1);
                ack(acks, "started " + node);
            }
        }
        runner.close();
        runner.clean();
        System.exit(0);
    }

    private static void ack(Path acks, String line) throws Exception {
        Files.writeString(acks, line + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
}
