package org.elasticsearch.plugins;

import org.elasticsearch.action.admin.cluster.node.info.PluginsAndModules;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.jdk.ModuleQualifiedExportsService;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Plugins given as classes already on the class path, instead of unpacked plugin
 * directories with a plugin-descriptor.properties each (the server's modules/ and plugins/
 * directories of a distribution, which a node built from Maven jars does not have).
 *
 * It lives in org.elasticsearch.plugins because PluginsService.LoadedPlugin, the type the
 * overridden plugins() returns, is package-private.
 */
public class ClasspathPluginsService extends PluginsService {

    private final List<LoadedPlugin> loaded;

    public ClasspathPluginsService(Settings settings, Environment environment, List<Class<? extends Plugin>> classes) {
        // Empty modules/ and plugins/ directories: the superclass then loads nothing itself.
        super(settings, environment.configFile(), environment.modulesFile(), environment.pluginsFile());
        List<LoadedPlugin> plugins = new ArrayList<>();
        for (Class<? extends Plugin> type : classes) {
            Plugin plugin = loadPlugin(type, settings, environment.configFile());
            PluginDescriptor descriptor = new PluginDescriptor(
                type.getName(),
                "class path plugin",
                "NA",
                org.elasticsearch.Build.current().version(),
                Integer.toString(Runtime.version().feature()),
                type.getName(),
                null,
                List.of(),
                false,
                false,
                false,
                false
            );
            plugins.add(new LoadedPlugin(descriptor, plugin));
        }
        this.loaded = List.copyOf(plugins);
    }

    /**
     * The server's qualified exports are read from its module descriptor; on the class path
     * the server is part of the unnamed module, which has none (the superclass then fails
     * with a NullPointerException in ModuleQualifiedExportsService). Nothing to export here.
     */
    @Override
    protected void addServerExportsService(Map<String, List<ModuleQualifiedExportsService>> exports) {}

    @Override
    protected List<LoadedPlugin> plugins() {
        return loaded;
    }

    @Override
    public PluginsAndModules info() {
        // Reported as modules: they are part of this node, as the bundled modules of a distribution are.
        return new PluginsAndModules(List.of(), loaded.stream().map(LoadedPlugin::descriptor).toList());
    }
}
